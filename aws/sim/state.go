package sim

import "time"

// The simulator keeps its whole world in plain structs with exported fields, so that Save and
// Load are encoding/json of State. Times are simulated times.

// State is the whole simulated account and region.
type State struct {
	Account string
	Region  string
	Caller  string // caller ARN returned by GetCallerIdentity
	// Now is the simulated time up to which the world has been advanced.
	Now time.Time
	// Seq feeds the deterministic ID generator.
	Seq uint64
	// BootTime is how long a new instance stays Pending before it enters service.
	BootTime time.Duration

	Groups        []*Group // sorted by name
	Templates     []*Template
	LaunchConfigs []*LaunchConfig
	Instances     map[string]*Instance
	// Terminated lists terminated instances, oldest first, until they are forgotten.
	Terminated []string `json:",omitempty"`
	Images     []*Image
	// SharedImageTags are the tags this account put on images other accounts share with
	// it: on AWS an account sees only its own tags on a shared image.
	SharedImageTags map[string][]Tag `json:",omitempty"`
	Snapshots       []*Snapshot
	TargetGroups    []*TargetGroup
	ClassicELBs     []*ClassicELB
	Schedules       []*ScheduledAction
	// BadImages are AMIs whose instances never pass load balancer health checks.
	// SSMParameters are Systems Manager parameters a launch template version's ImageId may
	// name as "resolve:ssm:NAME" (by name: the AMI ID).
	SSMParameters map[string]string `json:",omitempty"`
	BadImages     map[string]bool
	// ErrorImages are AMIs whose instances pass health checks but answer that fraction of
	// requests with a 5xx (MarkImageErroring).
	ErrorImages map[string]float64 `json:",omitempty"`
	// Metrics are each balancer's minute samples (target group ARN, "elb/"+name), oldest
	// first; Alarms the CloudWatch metric alarms (cloudwatch.go).
	Metrics map[string][]MetricSample `json:",omitempty"`
	Alarms  []*Alarm                  `json:",omitempty"`
	// Keys are the customer managed KMS keys of the account in the region (kms.go); the
	// AWS managed key aws/ebs is implicit.
	Keys []*Key `json:",omitempty"`
}

// Tag is a key/value tag; Propagate is the ASG's PropagateAtLaunch.
type Tag struct {
	Key       string
	Value     string
	Propagate bool `json:",omitempty"`
}

// TemplateSpec is a launch template reference as a group or a refresh names it: Version is a
// number, "$Latest" or "$Default".
type TemplateSpec struct {
	ID      string
	Name    string
	Version string
}

// Config is a resolved launch configuration: a numeric template version, or a launch
// configuration name.
type Config struct {
	TemplateID   string `json:",omitempty"`
	TemplateName string `json:",omitempty"`
	Version      int    `json:",omitempty"`
	LaunchConfig string `json:",omitempty"`
}

// Group is an autoscaling group.
type Group struct {
	Name            string
	ARN             string
	Tags            []Tag
	Min             int32
	Desired         int32
	Max             int32
	LaunchTemplate  *TemplateSpec `json:",omitempty"`
	LaunchConfig    string        `json:",omitempty"`
	HealthCheckType string
	GracePeriod     int32
	DefaultWarmup   int32 `json:",omitempty"`
	AZs             []string
	Suspended       []string `json:",omitempty"`
	TargetGroupARNs []string `json:",omitempty"`
	ClassicELBs     []string `json:",omitempty"`
	// Instances are the IDs of the group's instances (terminated ones leave), in launch order.
	Instances  []string
	Refreshes  []*Refresh  `json:",omitempty"` // oldest first
	Activities []*Activity `json:",omitempty"` // oldest first
	CreatedAt  time.Time
	// Busy is set while the group has anything in motion (launches, terminations, a refresh,
	// a capacity difference); idle groups are skipped when time advances.
	Busy bool `json:",omitempty"`
	// LaunchRetryAt is when the group tries again to launch after a launch EC2 refused.
	LaunchRetryAt time.Time `json:",omitempty"`
}

// Instance is an EC2 instance launched by a group.
type Instance struct {
	ID               string
	Group            string
	AZ               string
	ImageID          string
	InstanceType     string
	Config           Config
	Lifecycle        string // Pending, InService, Terminating, Terminated
	LaunchedAt       time.Time
	InServiceAt      time.Time `json:",omitempty"`
	TerminateAt      time.Time `json:",omitempty"` // when Terminating ends (after draining)
	TerminatedAt     time.Time `json:",omitempty"`
	Tags             []Tag     `json:",omitempty"`
	FailsHealth      bool      `json:",omitempty"` // never passes load balancer health checks
	Flipped          bool      `json:",omitempty"` // load balancer health inverted by ChurnInstances
	LaunchActivity   string    `json:",omitempty"`
	TermActivity     string    `json:",omitempty"`
	ByRefresh        string    `json:",omitempty"` // ID of the refresh that launched it
	PrivateIP        string
	ProtectedScaleIn bool `json:",omitempty"`
	// StandbyAt is when an instance entering standby has drained and is in Standby.
	StandbyAt time.Time `json:",omitempty"`
}

// LaunchConfig is a legacy launch configuration.
type LaunchConfig struct {
	Name         string
	ImageID      string
	InstanceType string
	CreatedAt    time.Time
}

// Template is a launch template with its immutable numbered versions.
type Template struct {
	ID             string
	Name           string
	DefaultVersion int
	CreatedAt      time.Time
	CreatedBy      string
	Versions       []*TemplateVersion // ascending
}

// TemplateVersion is one immutable launch template version.
type TemplateVersion struct {
	Number       int
	ImageID      string
	InstanceType string
	Description  string `json:",omitempty"`
	CreatedBy    string
	CreatedAt    time.Time
}

// Image is an AMI.
type Image struct {
	ID             string
	Name           string
	Description    string `json:",omitempty"`
	SourceInstance string `json:",omitempty"`
	CreatedAt      time.Time
	ReadyAt        time.Time // pending until then, then available
	Tags           []Tag     `json:",omitempty"`
	Snapshots      []string
	Deregistered   bool `json:",omitempty"`
	// Disabled AMIs stay in the account but are listed only with IncludeDisabled, in state
	// "disabled", and cannot be launched (Amazon EC2 User Guide, "Disable an AMI").
	Disabled bool `json:",omitempty"`
	// LaunchPermissions are the other accounts that may launch the image ("all": public),
	// granted with ModifyImageAttribute.
	LaunchPermissions []string `json:",omitempty"`
	// CopyToken is the ClientToken of the CopyImage that made the image: the same request
	// again returns it instead of another copy.
	CopyToken string `json:",omitempty"`
}

// Snapshot is an EBS snapshot behind an image.
type Snapshot struct {
	ID         string
	ImageID    string
	VolumeID   string
	VolumeSize int32
	StartTime  time.Time
	DoneAt     time.Time
	Tags       []Tag `json:",omitempty"`
	// KMSKey is the ARN of the KMS key that encrypts it ("": not encrypted).
	KMSKey string `json:",omitempty"`
	// CreateVolumePermissions are the other accounts that may create volumes from the
	// snapshot ("all": public), granted with ModifySnapshotAttribute.
	CreateVolumePermissions []string `json:",omitempty"`
}

// TargetGroup is an ELBv2 target group of instances.
type TargetGroup struct {
	ARN                 string
	Name                string
	LoadBalancerARN     string `json:",omitempty"`
	Port                int32
	Interval            int32 // health check interval, seconds
	HealthyThreshold    int32
	UnhealthyThreshold  int32
	DeregistrationDelay int32 // seconds
	Targets             []*Registration
}

// ClassicELB is a classic load balancer.
type ClassicELB struct {
	Name               string
	Interval           int32
	HealthyThreshold   int32
	UnhealthyThreshold int32
	DrainingEnabled    bool
	DrainingTimeout    int32
	Instances          []*Registration
}

// Registration is one instance registered with a balancer; DeregisteredAt is set while it
// drains.
type Registration struct {
	InstanceID     string
	RegisteredAt   time.Time
	DeregisteredAt time.Time `json:",omitempty"`
}

// Refresh is an instance refresh.
type Refresh struct {
	ID           string
	Group        string
	Status       string
	StatusReason string `json:",omitempty"`
	StartTime    time.Time
	EndTime      time.Time `json:",omitempty"`
	// Desired is the DesiredConfiguration's launch template as requested (nil when none).
	Desired *TemplateSpec `json:",omitempty"`
	// Target is the configuration the refresh currently launches (the previous one while
	// rolling back); Previous is the group's configuration when the refresh started.
	Target       Config
	Previous     Config
	PreviousSpec *TemplateSpec `json:",omitempty"`
	MinHealthy   int32
	MaxHealthy   int32
	SkipMatching bool
	AutoRollback bool
	Warmup       int32
	// StandbyPref and ProtectedPref are the StandbyInstances and ScaleInProtectedInstances
	// preferences ("" is AWS's default, Wait).
	StandbyPref   string `json:",omitempty"`
	ProtectedPref string `json:",omitempty"`
	// ToReplace are the instances the refresh (or its rollback) replaces; Total is their
	// number and Replaced how many are done.
	ToReplace  []string
	Total      int32
	Replaced   int32
	Batch      []string  `json:",omitempty"` // launched, waiting to be healthy and warm
	BatchStart time.Time `json:",omitempty"`
	Victims    []string  `json:",omitempty"` // terminating before their replacements launch
	Rolling    bool      `json:",omitempty"`
	// CancelWait is CancelInstanceRefresh's WaitForTransitioningInstances while Cancelling.
	CancelWait bool `json:",omitempty"`
	// Rollback details.
	RollbackReason     string    `json:",omitempty"`
	RollbackStart      time.Time `json:",omitempty"`
	PctOnRollback      int32     `json:",omitempty"`
	ToUpdateOnRollback int32     `json:",omitempty"`
}

// Activity is a scaling activity.
type Activity struct {
	ID          string
	Group       string
	Description string
	Cause       string
	Details     string `json:",omitempty"`
	StatusCode  string
	// StatusMessage says why a Failed activity failed.
	StatusMessage string `json:",omitempty"`
	Progress      int32
	Start         time.Time
	End           time.Time `json:",omitempty"`
}

// ScheduledAction changes a group's desired capacity at Next, then every Period.
type ScheduledAction struct {
	Name    string
	Group   string
	Desired int32
	Next    time.Time
	Period  time.Duration
}
