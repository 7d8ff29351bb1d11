package awsapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
)

// ErrNoRegion is returned by LoadClients when neither the options, the environment nor the
// profile name a region.
var ErrNoRegion = errors.New("no AWS region set")

// LoadOptions choose the identity and mode of the real AWS clients.
type LoadOptions struct {
	// Profile is the shared-config profile; "" uses the standard chain (AWS_PROFILE, then
	// "default").
	Profile string
	// Region overrides the profile's and AWS_REGION's region.
	Region string
	// ReadOnly installs the read-only guard on every client and returns no mutating clients.
	ReadOnly bool
	// APIOptions are extra middleware for every client (tests add moto's account header with
	// it). In read-only mode the guard still runs first.
	APIOptions []func(*middleware.Stack) error
	// RoleARN is a role to assume from the Profile's credentials (sts:AssumeRole, with
	// ExternalID and SessionName when set; the session name defaults to "adstage-ops").
	// The role's credentials are refreshed before they expire.
	RoleARN, ExternalID, SessionName string
	// MFA asks the operator for the code of the MFA device serial, for a profile that assumes
	// a role with mfa_serial. LoadClients asks at once (before a console takes the terminal
	// over) and only once; nil refuses such a profile with what to do.
	MFA func(serial string) (string, error)
}

// Retry settings for every client (see newRetryer).
const (
	retryMaxAttempts = 6
	retryMaxBackoff  = 10 * time.Second
)

// newRetryer is the retryer every client gets, configured on purpose for a console that polls:
//
//   - The standard retryer draws every retry from a client-side quota (500 tokens, 5 per retry)
//     and, once the quota is spent, fails calls at once with "retry quota exceeded". Under a
//     minute of account-wide throttling a polling console spends it in seconds and then fails
//     every call even after AWS recovers. ratelimit.None removes the quota: throttled calls back
//     off instead of failing; the console never overlaps its refreshes, so retries cannot pile up.
//   - Adaptive mode is not used: it delays even the first attempt client-side, which would hold
//     back the on-screen service's reads behind the background ones.
//   - More attempts than the default 3 (6), with backoff capped at 10 s instead of 20 s, so that
//     a throttled read gives up after about half a minute: the inventory then keeps the last good
//     data, says so, and tries again on the next tick. AWS_MAX_ATTEMPTS / max_attempts, when
//     set, still override the number of attempts.
func newRetryer() aws.Retryer { return newRetryerWith(nil) }

// newRetryerWith is newRetryer with another backoff (tests use none); nil keeps the SDK's
// exponential backoff with jitter, capped at retryMaxBackoff.
func newRetryerWith(backoff retry.BackoffDelayer) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = retryMaxAttempts
		o.MaxBackoff = retryMaxBackoff
		o.RateLimiter = ratelimit.None
		if backoff != nil {
			o.Backoff = backoff
		}
	})
}

// LoadClients builds the real SDK clients from the standard credential chain (AWS_PROFILE, SSO,
// assume-role, static keys, instance roles), the given profile and region, and AWS_ENDPOINT_URL
// (the SDK honours it natively, e.g. for moto). With ReadOnly, every client refuses any
// operation outside ReadOperations before it is sent, and only ReadClients is filled: the
// returned Clients is zero, so a read-only console never holds a mutating client.
func LoadClients(ctx context.Context, o LoadOptions) (Clients, ReadClients, error) {
	cfg, err := LoadConfig(ctx, o)
	if err != nil {
		return Clients{}, ReadClients{}, err
	}
	as := autoscaling.NewFromConfig(cfg)
	e2 := ec2.NewFromConfig(cfg)
	lb2 := elbv2.NewFromConfig(cfg)
	lb := elb.NewFromConfig(cfg)
	st := sts.NewFromConfig(cfg)
	cw := cloudwatch.NewFromConfig(cfg)
	km := kms.NewFromConfig(cfg)
	read := ReadClients{AutoScaling: as, EC2: e2, ELBv2: lb2, ELB: lb, STS: st, CloudWatch: cw, Images: e2, KMS: km, Region: cfg.Region, Config: &cfg}
	if o.ReadOnly {
		return Clients{}, read, nil
	}
	return Clients{AutoScaling: as, EC2: e2, ELBv2: lb2, ELB: lb, STS: st, CloudWatch: cw, Images: e2, KMS: km, Region: cfg.Region, Config: &cfg}, read, nil
}

// LoadConfig loads the SDK configuration LoadClients builds its clients from: the credential
// chain, profile, role, region and MFA of o, adstage-ops's retryer, and with ReadOnly the
// read-only guard on every client made from it.
func LoadConfig(ctx context.Context, o LoadOptions) (aws.Config, error) {
	profile := o.Profile
	if profile == "" {
		profile = os.Getenv("AWS_PROFILE")
	}
	// The SDK logs warnings (an IMDSv1 fallback, say) straight to stderr, which would print
	// over the console's screen; every failure reaches the caller as an error instead.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	// A profile with mfa_serial: the SDK asks its token provider when it assumes the role,
	// which would be in the middle of the console's screen. The code is asked for here,
	// before anything else, and the role's credentials retrieved at once (they last an hour
	// by default); a second ask means the session expired while running.
	asked := false
	opts = append(opts, config.WithAssumeRoleCredentialOptions(func(ar *stscreds.AssumeRoleOptions) {
		serial := aws.ToString(ar.SerialNumber)
		ar.TokenProvider = func() (string, error) {
			switch {
			case o.MFA == nil:
				return "", fmt.Errorf("profile %s needs a code from MFA device %s (mfa_serial): run adstage-ops on a terminal", profile, serial)
			case asked:
				return "", fmt.Errorf("the MFA session of profile %s expired: quit and start adstage-ops again to enter a new code", profile)
			}
			asked = true
			return o.MFA(serial)
		}
	}))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, &profileError{profile: profile, err: fmt.Errorf("load AWS configuration%s: %w", profileSuffix(o.Profile), err)}
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("load AWS configuration%s: %w (pass --region, set AWS_REGION, or set region in the profile)", profileSuffix(o.Profile), ErrNoRegion)
	}
	if needsMFA(ctx, profile) {
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			return aws.Config{}, &profileError{profile: profile, err: fmt.Errorf("assume the role of profile %s with an MFA code: %w", profile, err)}
		}
	}
	if o.RoleARN != "" {
		// The base profile's config (before any middleware of ours) calls sts:AssumeRole: in
		// read-only mode too, since the guard is added to the service clients only.
		base := cfg.Copy()
		base.Retryer = newRetryer
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), o.RoleARN, func(ar *stscreds.AssumeRoleOptions) {
			ar.RoleSessionName = "adstage-ops"
			if o.SessionName != "" {
				ar.RoleSessionName = o.SessionName
			}
			if o.ExternalID != "" {
				ar.ExternalID = aws.String(o.ExternalID)
			}
		}))
	}
	// Set after loading, not with config.WithRetryer, so that a max_attempts of the profile or
	// AWS_MAX_ATTEMPTS still applies (the clients wrap this retryer with it); retry_mode is
	// deliberately not honoured (see newRetryer).
	cfg.Retryer = newRetryer

	// Added to the service clients' copy only: the credential providers built inside
	// LoadDefaultConfig (sts:AssumeRole, SSO) keep working in read-only mode.
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), o.APIOptions...)
	cfg.APIOptions = append(cfg.APIOptions, tagProfile(profile, o.RoleARN))
	if o.ReadOnly {
		cfg.APIOptions = append(cfg.APIOptions, ReadOnlyAPIOption)
	}
	return cfg, nil
}

// AuditLogClients are the shared audit log's clients made from a configuration LoadConfig
// loaded: the writer is nil when it is read-only (its guard also refuses the writes).
func AuditLogClients(cfg aws.Config, readOnly bool) (LogsReader, LogsWriter) {
	c := cloudwatchlogs.NewFromConfig(cfg)
	if readOnly {
		return c, nil
	}
	return c, c
}

// needsMFA reports whether the profile (or a profile it assumes a role from) names an MFA
// device.
func needsMFA(ctx context.Context, profile string) bool {
	if profile == "" {
		profile = "default"
	}
	for range 8 { // source_profile chains are short; a loop in the config ends here
		sc, err := config.LoadSharedConfigProfile(ctx, profile, func(o *config.LoadSharedConfigOptions) {
			// The files LoadDefaultConfig reads: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE
			// when set.
			if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
				o.ConfigFiles = []string{f}
			}
			if f := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
				o.CredentialsFiles = []string{f}
			}
		})
		if err != nil {
			return false
		}
		if sc.MFASerial != "" {
			return true
		}
		if sc.SourceProfileName == "" || sc.SourceProfileName == profile {
			return false
		}
		profile = sc.SourceProfileName
	}
	return false
}

func profileSuffix(p string) string {
	if p == "" {
		return ""
	}
	return fmt.Sprintf(" (profile %s)", p)
}

// tagProfile wraps every error of a client in a profileError naming its profile (and the role
// assumed from it).
func tagProfile(profile, role string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("adstage-ops/Profile", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if err != nil {
				err = &profileError{profile: profile, role: role, err: err}
			}
			return out, md, err
		}), middleware.Before)
	}
}
