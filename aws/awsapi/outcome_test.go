package awsapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestMayHaveBeenCarriedOut(t *testing.T) {
	op := func(err error) error {
		return &smithy.OperationError{ServiceID: "EC2", OperationName: "CreateImage", Err: err}
	}
	withStatus := func(code int, err error) error {
		return op(&smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: err})
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"timeout", op(context.DeadlineExceeded), true},
		{"interrupted", op(context.Canceled), true},
		{"connection reset after sending", op(&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}), true},
		{"answer cut short", op(io.ErrUnexpectedEOF), true},
		{"server error", withStatus(500, &smithy.GenericAPIError{Code: "InternalError"}), true},
		{"AWS refused it", withStatus(400, &smithy.GenericAPIError{Code: "InvalidAMIName.Duplicate"}), false},
		{"access denied", op(&smithy.GenericAPIError{Code: "UnauthorizedOperation"}), false},
		{"connection refused", op(&net.OpError{Op: "dial", Err: errors.New("connection refused")}), false},
		{"no such host", op(&net.DNSError{Err: "no such host", Name: "ec2.example"}), false},
		{"read-only guard", &ReadOnlyError{Operation: "CreateImage"}, false},
		{"no credentials", op(errors.New("failed to retrieve credentials")), false},
		{"nil", nil, false},
	}
	for _, c := range cases {
		if got := MayHaveBeenCarriedOut(c.err); got != c.want {
			t.Errorf("%s: MayHaveBeenCarriedOut = %v, want %v", c.name, got, c.want)
		}
	}
}
