package model

import (
	"fmt"
	"strings"
	"time"
)

// Image is a machine image (AMI) baked for a service.
type Image struct {
	ID             string
	Name           string
	State          string // pending, available, failed, deregistered, ...
	Service        string
	SourceInstance string
	BakedBy        string // caller ARN of whoever baked it
	Label          string // the operator's label, e.g. a git SHA
	CreatedAt      time.Time
	// SnapshotProgress is the lowest progress percentage of the image's snapshots while pending.
	SnapshotProgress int
	// Marks are what operators wrote on it (rolled back, bad, good), oldest first.
	Marks []Mark
}

// Available reports whether the image can be launched.
func (i Image) Available() bool { return i.State == "available" }

// Release is one launch template version: one release of a service's group.
type Release struct {
	TemplateID   string
	TemplateName string
	Version      int64
	ImageID      string
	Description  string // who, when, from which AMI and why, as written by promote
	CreatedBy    string
	CreatedAt    time.Time
	Default      bool
}

// RefreshRecord is one instance refresh in a group's history.
type RefreshRecord struct {
	Group string
	Refresh
}

// Activity is one scaling activity of a group.
type Activity struct {
	Group       string
	Description string
	Cause       string
	Status      string
	StartedAt   time.Time
	EndedAt     time.Time
}

// History is what happened to a service in one environment.
type History struct {
	ServiceKey
	Releases   []Release       // newest first
	Refreshes  []RefreshRecord // newest first
	Activities []Activity      // newest first
	// Ledgers are each group's release ledger, in group name order.
	Ledgers []Ledger
	// Problems are what could not be read (the history is shown without it).
	Problems []string
}

// ActionKind names a mutating action.
type ActionKind string

const (
	ActionBake     ActionKind = "bake"
	ActionPromote  ActionKind = "promote"
	ActionRollback ActionKind = "rollback"
	ActionMark     ActionKind = "mark"
	// ActionShell is a shell opened on an instance (aws ssm start-session) from the console.
	ActionShell ActionKind = "shell"
	// ActionCancel stops the running rollouts of a service where they are, without rolling
	// anything back (CancelInstanceRefresh).
	ActionCancel ActionKind = "cancel"
	// ActionShareImage and ActionCopyImage are the audit records of a promote's transfer
	// step (Plan.Transfer).
	ActionShareImage ActionKind = "share-image"
	ActionCopyImage  ActionKind = "copy-image"
)

// Check is one precondition a plan verified.
type Check struct {
	Name   string
	OK     bool
	Detail string
	// Warn marks a failed check that the operator may override by confirming.
	Warn bool
}

// ImageRef describes an AMI in a plan with when and by whom it was released.
type ImageRef struct {
	ImageID    string
	Label      string
	ReleasedAt time.Time
	ReleasedBy string
}

// GroupStep is what a plan does to one group.
type GroupStep struct {
	Group       string
	Template    LaunchTemplateRef // the template and the version it runs now
	FromImage   ImageRef
	ToImage     ImageRef
	ToVersion   string // existing version to roll out (rollback to a previous version); "" means create one
	RefreshID   string // the running refresh a rollback reverses or a cancel stops
	Instances   int
	Desired     int32
	MaxCapacity int32
	// What a cancel reads of the rollout it stops: the refresh's status and percentage, and
	// how many of the group's instances run the release it rolls out (OnTo, ToImage) and the
	// release the group had (OnFrom, FromImage) now. Cancelling leaves each where it is.
	RefreshStatus  string
	RefreshPercent int32
	OnTo, OnFrom   int
}

// BakeSpec is what a bake plan will create.
type BakeSpec struct {
	InstanceID string
	Label      string
	NoReboot   bool
	Name       string
	// StandbyGroup is the group the instance serves in: with a reboot it enters Standby there
	// (its balancers drain it, no health check replaces it) until the image is made.
	StandbyGroup string `json:",omitempty"`
}

// MarkSpec is what a mark plan will write: the mark, on the AMIs of one release.
type MarkSpec struct {
	Mark    Mark
	Version int64
	Images  []string
}

// Plan is what a mutating action will do, computed by reading only; nothing is sent before the
// operator confirms it.
type Plan struct {
	Action  ActionKind
	Service string
	Env     string
	// Region is set when the environment is read in several regions and the plan acts in
	// one of them (ServiceKey.Region): carrying it out goes to that region's identity.
	Region     string `json:",omitempty"`
	Production bool
	Steps      []GroupStep
	Bake       *BakeSpec
	Mark       *MarkSpec
	Strategy   string // e.g. "instance refresh, launch before terminate, auto-rollback"
	Capacity   string // expected capacity during the rollout
	Checks     []Check
	// RestoreEstimate is how long the action is expected to take.
	RestoreEstimate time.Duration
	Reason          string
	CLI             string // the adstage-ops command that does the same thing
	CreatedAt       time.Time
	// Signals are the service's CloudWatch signals when it was planned (5xx, alarms), read by
	// the front end that shows the plan; nil when not read.
	Signals *Signals `json:",omitempty"`
	// Transfer makes the promoted image launchable where the plan rolls it out, before the
	// rollout: shared from another account, or copied into the target account and region.
	Transfer *ImageTransfer
}

// ImageTransfer is the step that brings a promote's image from the account and region of
// the environment it comes from to those of the environment it goes to.
type ImageTransfer struct {
	ImageID   string // the image in the source account and region
	ImageName string
	// Snapshots are the image's EBS snapshots, shared along with it.
	Snapshots     []string
	SourceEnv     string
	SourceAccount string
	SourceRegion  string
	TargetAccount string
	TargetRegion  string
	// Share grants the target account launch permission on the image and create-volume
	// permission on its snapshots, with the source environment's identity.
	Share bool
	// Copy copies the (shared) image into the target account and region, with the target
	// environment's identity; the rollout then launches the copy.
	Copy bool
}

// Blocked reports whether a hard precondition failed.
func (p *Plan) Blocked() bool {
	for _, c := range p.Checks {
		if !c.OK && !c.Warn {
			return true
		}
	}
	return false
}

// Warnings lists failed checks that confirmation overrides.
func (p *Plan) Warnings() []Check {
	var out []Check
	for _, c := range p.Checks {
		if !c.OK && c.Warn {
			out = append(out, c)
		}
	}
	return out
}

// Failures lists failed hard checks.
func (p *Plan) Failures() []Check {
	var out []Check
	for _, c := range p.Checks {
		if !c.OK && !c.Warn {
			out = append(out, c)
		}
	}
	return out
}

// Progress is one event of a running action.
type Progress struct {
	Time    time.Time
	Group   string
	Stage   string // e.g. "template-version", "refresh", "image"
	Percent int
	Message string
	Done    bool
	Err     error
}

// AuditEvent is one line of the local audit log.
type AuditEvent struct {
	Time     time.Time  `json:"time"`
	Finished *time.Time `json:"finished,omitempty"`
	Who      string     `json:"who"`
	Action   ActionKind `json:"action"`
	Service  string     `json:"service,omitempty"`
	Env      string     `json:"env,omitempty"`
	// Region is the plan's region when its environment is read in several (Plan.Region).
	Region string   `json:"region,omitempty"`
	Groups []string `json:"groups,omitempty"`
	From   string   `json:"from,omitempty"`
	To     string   `json:"to,omitempty"`
	Reason string   `json:"reason,omitempty"`
	Result string   `json:"result"` // planned, cancelled, started, succeeded, failed, refused, unknown (AWS may have carried it out; Error says what to check)
	Error  string   `json:"error,omitempty"`
	Via    string   `json:"via,omitempty"` // tui or cli
}

// Readiness says whether a service can be rolled back right now, and how. It is what the
// services column, the service screen and status show, and it comes from the same ledger
// rule (Ledger.Previous) as the rollback plan.
type Readiness struct {
	Possible bool
	// Via is "rollback-refresh" when a rollout is running, "previous-release" otherwise, and
	// "rolling-back" when a rollback is already under way (Possible is then false).
	Via      string
	Target   Release
	Estimate time.Duration
	Why      string // why not, when impossible
	// Unverified is set when no release is known to have been live and healthy (the refresh
	// history is unreadable or silent), so the target was chosen by version order.
	Unverified bool
	// Skipped are the newer releases passed over, one line each ("v4 rolled back: ...").
	Skipped []string
	// Note says what else the operator should know (groups returning to different releases).
	Note string
}

// Target names what a plan acts on: the instance a bake images, or service/environment.
func (p *Plan) Target() string {
	if p.Action == ActionBake && p.Bake != nil {
		return p.Bake.InstanceID
	}
	return p.Key().String()
}

// Key is the service row the plan acts on.
func (p *Plan) Key() ServiceKey {
	return ServiceKey{Name: p.Service, Env: p.Env, Region: p.Region}
}

// FailureText is the failed hard checks as one line ("name: detail; name: detail"), the one
// wording the console, the CLI and the action layer use for a blocked plan.
func (p *Plan) FailureText() string {
	var parts []string
	for _, c := range p.Failures() {
		parts = append(parts, c.Name+": "+c.Detail)
	}
	return strings.Join(parts, "; ")
}

// RolloutPrefs are the instance refresh preferences of a promote or rollback.
type RolloutPrefs struct {
	MinHealthyPercentage int32 // default 100
	MaxHealthyPercentage int32 // default 200: launch before terminate
	InstanceWarmup       int32 // seconds; 0 uses the group's grace period
	SkipMatching         bool  // default true
	AutoRollback         bool  // default true
}

// Validate applies AWS's rules on an instance refresh's healthy percentages
// (RefreshPreferences in the Auto Scaling API reference): the minimum is 0-100, the maximum
// 100-200, the maximum may exceed the minimum by at most 100, and both cannot be 100. A
// promote with other values would be refused by StartInstanceRefresh after its launch
// template version was created.
func (p RolloutPrefs) Validate() error {
	switch minH, maxH := p.MinHealthyPercentage, p.MaxHealthyPercentage; {
	case minH < 0 || minH > 100:
		return fmt.Errorf("the minimum healthy percentage must be 0-100, not %d", minH)
	case maxH < 100 || maxH > 200:
		return fmt.Errorf("the maximum healthy percentage must be 100-200, not %d", maxH)
	case maxH-minH > 100:
		return fmt.Errorf("the maximum healthy percentage (%d) may exceed the minimum (%d) by at most 100, as AWS requires: raise the minimum to %d or lower the maximum to %d", maxH, minH, maxH-100, minH+100)
	case minH == 100 && maxH == 100:
		return fmt.Errorf("the minimum and maximum healthy percentages cannot both be 100 (nothing could be replaced): raise the maximum above 100 or lower the minimum")
	}
	return nil
}

// Resolved replaces AWS's documented defaults by ours where nothing was set: keep full
// capacity (100%/200%), and, when no preference at all was given, skip matching instances and
// roll back on failure. A minimum without a maximum gets the widest maximum AWS allows.
func (p RolloutPrefs) Resolved() RolloutPrefs {
	if p == (RolloutPrefs{}) {
		p.SkipMatching, p.AutoRollback = true, true
	}
	if p.MinHealthyPercentage == 0 {
		p.MinHealthyPercentage = 100
	}
	if p.MaxHealthyPercentage == 0 {
		// 200, or as far above the minimum as AWS allows (Validate).
		p.MaxHealthyPercentage = min(200, p.MinHealthyPercentage+100)
	}
	return p
}
