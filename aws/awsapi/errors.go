package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/adstage/adstage-ops/model"
)

// ErrRefreshRunning is returned by Snapshot when another Snapshot is still running, and wrapped
// by actions refused because an instance refresh is already in progress.
var ErrRefreshRunning = errors.New("a refresh is already running")

// ErrReadOnly is wrapped by every error the read-only middleware returns for a refused
// (mutating) operation, and by actions refused because the console is read-only.
var ErrReadOnly = errors.New("read-only mode")

// ReadOnlyError is the error the read-only middleware returns: it names the operation it
// refused (before anything was sent) and wraps ErrReadOnly.
type ReadOnlyError struct {
	Service   string // IAM service prefix, e.g. "ec2"
	Operation string // e.g. "CreateImage"
}

func (e *ReadOnlyError) Error() string {
	return fmt.Sprintf("%s:%s refused: %s", e.Service, e.Operation, ErrReadOnly)
}

// Unwrap makes errors.Is(err, ErrReadOnly) true.
func (e *ReadOnlyError) Unwrap() error { return ErrReadOnly }

// profileError carries the shared-config profile of the clients a call failed on, so that
// Explain can say `aws sso login --profile NAME` for the right profile even when environments
// use different ones. Its text is the wrapped error's.
type profileError struct {
	profile string
	role    string // the role assumed from the profile, if any
	err     error
}

func (e *profileError) Error() string { return e.err.Error() }
func (e *profileError) Unwrap() error { return e.err }

// profileName is the profile err was met with: the clients', else AWS_PROFILE, else "default".
func profileName(err error) string {
	var pe *profileError
	if errors.As(err, &pe) && pe.profile != "" {
		return pe.profile
	}
	if p := os.Getenv("AWS_PROFILE"); p != "" {
		return p
	}
	return "default"
}

// roleOf is the role the failing clients assume, "" when none.
func roleOf(err error) string {
	var pe *profileError
	if errors.As(err, &pe) {
		return pe.role
	}
	return ""
}

// assumeRoleCause is what STS said when it refused the role.
func assumeRoleCause(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "api error "); i >= 0 {
		return strings.TrimSuffix(msg[i+len("api error "):], ".")
	}
	if i := strings.LastIndex(msg, "AssumeRole"); i >= 0 {
		return strings.TrimSuffix(strings.TrimLeft(msg[i+len("AssumeRole"):], ", "), ".")
	}
	return msg
}

// iamPrefix maps an SDK service id (smithy.OperationError.ServiceID) to its IAM action prefix.
// The ELBv2 and the classic ELB APIs share the "elasticloadbalancing" prefix.
func iamPrefix(serviceID string) string {
	switch strings.ToLower(strings.ReplaceAll(serviceID, " ", "")) {
	case "autoscaling":
		return "autoscaling"
	case "ec2":
		return "ec2"
	case "elasticloadbalancingv2", "elasticloadbalancing":
		return "elasticloadbalancing"
	case "sts":
		return "sts"
	case "kms":
		return "kms"
	case "cloudwatchlogs":
		return "logs"
	case "sso", "ssooidc":
		return "sso"
	}
	return strings.ToLower(strings.ReplaceAll(serviceID, " ", ""))
}

// iamAction names the IAM action behind err ("ec2:CreateImage"), or "" when err carries no
// operation.
func iamAction(err error) string {
	var ro *ReadOnlyError
	if errors.As(err, &ro) {
		return ro.Service + ":" + ro.Operation
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) && oe.OperationName != "" {
		return iamPrefix(oe.ServiceID) + ":" + oe.OperationName
	}
	return ""
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Explain turns any error adstage-ops can meet into one sentence for the operator, ending with
// what to do next. It never returns "" for a non-nil error. The sentence is terminal-safe:
// AWS error messages echo what they were given (tag values, names), which is data.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	return model.SafeText(explain(err))
}

func explain(err error) string {
	action := iamAction(err)
	code := apiCode(err)
	msg := err.Error()
	lower := strings.ToLower(msg)

	var ro *ReadOnlyError
	var unknown *OutcomeUnknownError
	switch {
	case errors.As(err, &unknown):
		// Said before the cause (a timeout reads as "try again", which may do it twice).
		return fmt.Sprintf("The outcome of %s is unknown: AWS may have carried it out (%s); check %s before trying again.", unknown.What, explainCause(unknown.Err), unknown.Check)
	case errors.As(err, &ro):
		return fmt.Sprintf("Refused %s: the console is in read-only mode; restart it without --read-only to make changes.", action)
	case errors.Is(err, ErrReadOnly):
		return "Refused: the console is in read-only mode; restart it without --read-only to make changes."
	case errors.Is(err, ErrRefreshRunning), code == "InstanceRefreshInProgress":
		return "An instance refresh is already running on this group; wait for it to finish or roll it back before starting another."
	case roleOf(err) != "" && strings.Contains(msg, "AssumeRole") && !isExpiredSession(err, code, lower):
		return fmt.Sprintf("Could not assume role %s from profile %s (%s); check that the profile may call sts:AssumeRole on it, the role's trust policy and external_id, then try again.", roleOf(err), profileName(err), assumeRoleCause(err))
	case isExpiredSession(err, code, lower):
		return fmt.Sprintf("Your AWS session has expired (or was never started here); run `aws sso login --profile %s` (or renew your credentials) and try again.", profileName(err))
	case isNoCredentials(err, lower):
		return "No AWS credentials found; set AWS_PROFILE (or pass --profile), run `aws sso login`, or start with --demo to explore the simulated fleet."
	case strings.Contains(lower, "not authorized to use launch template"):
		// AWS checks the template's permissions on the caller (ValidationError from Auto
		// Scaling): the group or refresh call itself was allowed.
		return fmt.Sprintf("AWS refused to launch from the group's launch template as you (%s): updating a group or starting a rollout launches instances with your permissions, so your role needs ec2:RunInstances (and iam:PassRole to ec2.amazonaws.com if the template names an instance profile); see `adstage-ops iam-policy`.", apiMessage(err))
	case isAccessDenied(code):
		if action == "" {
			return "AWS denied access; ask for the IAM permissions in `adstage-ops iam-policy` and try again."
		}
		return fmt.Sprintf("AWS denied %s; grant that IAM action to your role (see `adstage-ops iam-policy`) and try again.", action)
	case code == "InvalidClientTokenId", code == "UnrecognizedClientException", code == "SignatureDoesNotMatch", code == "AuthFailure":
		return fmt.Sprintf("AWS rejected your credentials (%s); check AWS_PROFILE and your access keys, or run `aws sso login --profile %s`.", code, profileName(err))
	case isThrottling(err):
		return "AWS is throttling the API calls; the console backs off and keeps the last data, so wait a minute (or focus fewer services)."
	case strings.HasPrefix(code, "InvalidAMIID"):
		return "The AMI does not exist (or is not available) in this region; pick another image from the Images view or bake a new one."
	case errors.Is(err, context.DeadlineExceeded):
		return "AWS did not answer in time; check your network or VPN and try again."
	case errors.Is(err, context.Canceled):
		return "The request was cancelled before AWS answered; try again."
	case isUnreachable(err, lower):
		if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" {
			return fmt.Sprintf("Cannot reach the AWS endpoint %s (set by AWS_ENDPOINT_URL); check that it is running or unset the variable.", ep)
		}
		return "Cannot reach the AWS endpoint; check your network, proxy or VPN and the region, then try again."
	case errors.Is(err, ErrNoRegion), strings.Contains(lower, "missing region"), strings.Contains(lower, "region is required"):
		return "No AWS region is set; pass --region, set AWS_REGION, or set region in your AWS profile."
	}
	var pe config.SharedConfigProfileNotExistError
	if errors.As(err, &pe) {
		return fmt.Sprintf("The AWS profile %q does not exist; check the name with `aws configure list-profiles`.", pe.Profile)
	}
	if action != "" && code != "" {
		return fmt.Sprintf("%s failed (%s): %s; check the message and try again.", action, code, apiMessage(err))
	}
	// Errors of our own already say what went wrong and what to do.
	return strings.TrimSuffix(msg, ".") + "."
}

// explainCause is the cause of an unknown outcome in a few words.
func explainCause(err error) string {
	switch {
	case err == nil:
		return "no answer"
	case errors.Is(err, context.DeadlineExceeded):
		return "AWS did not answer in time"
	case errors.Is(err, context.Canceled):
		return "interrupted before AWS answered"
	}
	return strings.TrimSuffix(apiMessageOr(err), ".")
}

func apiMessageOr(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorMessage() != "" {
		return strings.TrimSuffix(ae.ErrorMessage(), ".")
	}
	return strings.TrimSuffix(err.Error(), ".")
}

func isExpiredSession(err error, code, lower string) bool {
	var ite *ssocreds.InvalidTokenError
	if errors.As(err, &ite) {
		return true
	}
	switch code {
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidGrantException", "UnauthorizedException":
		// UnauthorizedException is what the SSO portal answers for a stale access token.
		return true
	}
	return strings.Contains(lower, "token has expired") ||
		strings.Contains(lower, "sso session has expired") ||
		strings.Contains(lower, "cached sso token is expired") ||
		strings.Contains(lower, "refresh cached sso token failed") ||
		strings.Contains(lower, "cached sso token file") // never logged in on this machine
}

func isNoCredentials(err error, lower string) bool {
	return strings.Contains(lower, "no ec2 imds role found") ||
		strings.Contains(lower, "failed to retrieve credentials") ||
		strings.Contains(lower, "no valid providers in chain") ||
		strings.Contains(lower, "anonymous credentials") ||
		(strings.Contains(lower, "get credentials") && strings.Contains(lower, "failed to refresh cached credentials"))
}

func isAccessDenied(code string) bool {
	switch code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
		return true
	}
	return false
}

func isThrottling(err error) bool {
	if Throttled(err) {
		return true
	}
	// The standard retryer's client-side quota (LoadClients disables it; other callers may not).
	var qe ratelimit.QuotaExceededError
	var qp *ratelimit.QuotaExceededError
	return errors.As(err, &qe) || errors.As(err, &qp)
}

func isUnreachable(err error, lower string) bool {
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || errors.As(err, &op) {
		return true
	}
	return strings.Contains(lower, "connection refused") || strings.Contains(lower, "no such host") ||
		strings.Contains(lower, "network is unreachable") || strings.Contains(lower, "dial tcp")
}

// MayHaveBeenCarriedOut reports whether a mutating call that returned err may still have
// been carried out by AWS because no answer came back: a timeout, a cancelled context, a
// connection that broke after the request went out, or a server error (5xx), after which
// AWS does not say what it did. An answer with an error code (AWS refused it) and an error
// raised before anything was sent (read-only guard, no credentials or region, a name that
// does not resolve, a connection that could not be opened) mean it was not carried out.
func MayHaveBeenCarriedOut(err error) bool {
	if err == nil {
		return false
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return false
	}
	var ro *ReadOnlyError
	var dns *net.DNSError
	var op *net.OpError
	lower := strings.ToLower(err.Error())
	switch {
	case errors.As(err, &ro), errors.Is(err, ErrReadOnly), errors.Is(err, ErrNoRegion):
		return false
	case errors.As(err, &dns), errors.As(err, &op) && op.Op == "dial":
		return false
	case isNoCredentials(err, lower), isExpiredSession(err, "", lower):
		return false
	}
	return true
}

// OutcomeUnknownError is a mutating action whose outcome is not known: AWS may have carried
// it out (see MayHaveBeenCarriedOut), and Check says how to find out. The audit log records
// such an action as "unknown", never as "failed".
type OutcomeUnknownError struct {
	What  string // what was asked of AWS, e.g. "create image api-abc-2026..."
	Check string // how to find out what AWS did, e.g. a CLI command
	Err   error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s: outcome unknown (%v); AWS may have carried it out: check %s", e.What, e.Err, e.Check)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// IsOutcomeUnknown reports whether err carries an OutcomeUnknownError.
func IsOutcomeUnknown(err error) bool {
	var u *OutcomeUnknownError
	return errors.As(err, &u)
}
