package awstest

// Helpers for the integration tests against a real moto server (moto 5.x, `moto_server` on
// 127.0.0.1; scripts/test.sh starts one and exports MOTO_URL). moto implements autoscaling
// groups, launch templates, images, target groups and classic ELBs, but not instance
// refreshes: those are tested on the simulator and on the recording fake.
//
// One moto serves every package of `go test ./...` at once, so these tests never reset it:
// each test gets its own moto account (the x-moto-account-id header), in which it sees only
// what it created, and reads the request recording filtered by that account.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

// motoEndpoint is the moto server's URL from MOTO_URL. When moto is not reachable the test
// fails if CI is set (CI must run these tests) and is skipped otherwise.
func MotoEndpoint(t *testing.T) string {
	t.Helper()
	u := strings.TrimRight(os.Getenv("MOTO_URL"), "/")
	why := ""
	if u == "" {
		why = "MOTO_URL is not set"
	} else {
		c := http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(u + "/moto-api/")
		if err != nil {
			why = fmt.Sprintf("moto at %s is unreachable: %v", u, err)
		} else {
			resp.Body.Close()
		}
	}
	if why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI is set: the moto integration tests must run; scripts/test.sh starts moto)", why)
		}
		t.Skipf("%s; run scripts/test.sh, or start `moto_server -H 127.0.0.1 -p 5000` and set MOTO_URL", why)
	}
	return u
}

var (
	motoAccounts   sync.Map // test name -> account
	motoAccountSeq atomic.Uint64
)

// motoAccount is the test's own moto account: 12 digits, unique per test and per run.
func MotoAccount(t *testing.T) string {
	t.Helper()
	if a, ok := motoAccounts.Load(t.Name()); ok {
		return a.(string)
	}
	n := uint64(time.Now().UnixNano()/1000)%1e9*100 + motoAccountSeq.Add(1)%100
	a := fmt.Sprintf("9%011d", n%1e11)
	got, _ := motoAccounts.LoadOrStore(t.Name(), a)
	t.Cleanup(func() { motoAccounts.Delete(t.Name()) })
	return got.(string)
}

// motoAccountHeader sends every request into one moto account.
func motoAccountHeader(account string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Build.Add(middleware.BuildMiddlewareFunc("motoAccount", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				req.Header.Set("x-moto-account-id", account)
			}
			return next.HandleBuild(ctx, in)
		}), middleware.After)
	}
}

// motoClients builds clients at moto with awsapi.LoadClients (AWS_ENDPOINT_URL, the standard
// chain with test credentials, us-east-1), in the test's own moto account. Read-only clients
// carry the read-only guard; their Clients is zero.
func MotoClients(t *testing.T, readOnly bool) (awsapi.Clients, awsapi.ReadClients) {
	t.Helper()
	IsolateAWSEnv(t, MotoEndpoint(t))
	// moto answers some calls on missing resources with a 500, which the console's retryer
	// would retry with backoff for seconds; the retryer has its own tests.
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	c, rc, err := awsapi.LoadClients(context.Background(), awsapi.LoadOptions{
		Region:     "us-east-1",
		ReadOnly:   readOnly,
		APIOptions: []func(*middleware.Stack) error{motoAccountHeader(MotoAccount(t))},
	})
	if err != nil {
		t.Fatalf("load clients at moto: %v", err)
	}
	return c, rc
}

// motoAPI calls one of moto's own endpoints (/moto-api/...).
func MotoAPI(t *testing.T, method, path string) string {
	t.Helper()
	req, err := http.NewRequest(method, MotoEndpoint(t)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("moto %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("moto %s %s: status %d, %v: %s", method, path, resp.StatusCode, err, b)
	}
	return string(b)
}

// motoRecording starts moto's request recorder (it is global; the server should be started
// with MOTO_ENABLE_RECORDING=True) and returns a function that lists, in order, the Action of
// every AWS request moto recorded for this test's account. It never resets or stops the
// recorder, since other packages' tests may use it at the same time; a test that needs to know
// nothing was lost to someone else's reset makes a read first and checks it was recorded.
func MotoRecording(t *testing.T) func() []string {
	t.Helper()
	account := MotoAccount(t)
	MotoAPI(t, http.MethodPost, "/moto-api/recorder/start-recording")
	return func() []string {
		t.Helper()
		var actions []string
		for _, e := range RecordedEntries(t) {
			if e.Account() != account {
				continue
			}
			actions = append(actions, e.Action(t))
		}
		return actions
	}
}

type RecordedRequest struct {
	Headers     map[string]string `json:"headers"`
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	Body        string            `json:"body"`
	BodyEncoded bool              `json:"body_encoded"`
}

func (r RecordedRequest) Account() string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, "x-moto-account-id") {
			return v
		}
	}
	return ""
}

// action is the request's operation: the X-Amz-Target of a JSON-protocol request (KMS), else
// the Action of a query-protocol request, from its form body or URL, or the operation in the
// path of an RPC v2 (CBOR) request (CloudWatch).
func (r RecordedRequest) Action(t *testing.T) string {
	body := r.Body
	if r.BodyEncoded {
		b, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			t.Fatalf("moto recording: body of %s %s: %v", r.Method, r.URL, err)
		}
		body = string(b)
	}
	for k, v := range r.Headers {
		// JSON protocols (KMS) name the operation in X-Amz-Target: "TrentService.DescribeKey".
		if strings.EqualFold(k, "x-amz-target") && v != "" {
			return v[strings.LastIndex(v, ".")+1:]
		}
	}
	if v, err := url.ParseQuery(body); err == nil && v.Get("Action") != "" {
		return v.Get("Action")
	}
	if u, err := url.Parse(r.URL); err == nil && u.Query().Get("Action") != "" {
		return u.Query().Get("Action")
	}
	// The RPC v2 protocol (CloudWatch's default) names the operation in the path.
	if u, err := url.Parse(r.URL); err == nil {
		if i := strings.LastIndex(u.Path, "/operation/"); i >= 0 {
			return u.Path[i+len("/operation/"):]
		}
	}
	return r.Method + " " + r.URL
}

func RecordedEntries(t *testing.T) []RecordedRequest {
	t.Helper()
	raw := MotoAPI(t, http.MethodGet, "/moto-api/recorder/download-recording")
	var out []RecordedRequest
	for _, line := range strings.Split(raw, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e RecordedRequest
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("moto recording: line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}
