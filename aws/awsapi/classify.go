package awsapi

import (
	"errors"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// IsCode reports whether err is an AWS API error whose code starts with prefix.
func IsCode(err error, prefix string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.HasPrefix(ae.ErrorCode(), prefix)
}

// Throttled reports whether err is AWS refusing a call for its rate, by the SDK's own
// classification (retry.DefaultThrottles: the throttle error codes and HTTP 429), so that the
// retryer, the pollers and the error sentences agree on what throttling is.
func Throttled(err error) bool {
	return err != nil && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()
}

// A TemplateKey names a launch template the way the caches and plans do: its ID when known,
// else "name:" and its name. AWS accepts either in a request, never both.
type TemplateKey string

const templateNamePrefix = "name:"

// KeyOf is the key of a template named by ID or name (ID first); "" when neither is known.
func KeyOf(id, name string) TemplateKey {
	switch {
	case id != "":
		return TemplateKey(id)
	case name != "":
		return TemplateKey(templateNamePrefix + name)
	}
	return ""
}

// Ref is the key as a request's LaunchTemplateId or LaunchTemplateName (one of them nil).
func (k TemplateKey) Ref() (id, name *string) {
	if n, ok := strings.CutPrefix(string(k), templateNamePrefix); ok {
		return nil, &n
	}
	s := string(k)
	return &s, nil
}

// String is the key as people read it: the ID or the name.
func (k TemplateKey) String() string {
	return strings.TrimPrefix(string(k), templateNamePrefix)
}

// NumericVersion parses a launch template version number; false for "$Latest", "$Default", "".
func NumericVersion(v string) (int64, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}
