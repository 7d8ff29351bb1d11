package main

import (
	"time"

	"github.com/adstage/adstage-ops/model"
)

// schemaVersion is the version of every --json output (status, signals, plans, progress,
// history, audit): one snake_case schema, written down in the README. It goes up when a field
// changes meaning or goes away; new fields do not change it.
const schemaVersion = 2

// The types below are the --json schema. They live here, not as tags on the model's types,
// so that the model can change without a script noticing.

// planOut is the first JSON line of an action: what it will do.
type planOut struct {
	SchemaVersion int    `json:"schema_version"`
	Type          string `json:"type"` // "plan"
	Action        string `json:"action"`
	Service       string `json:"service,omitempty"`
	Env           string `json:"env,omitempty"`
	// Region: the plan acts in one region of an environment read in several (Plan.Region).
	Region     string `json:"region,omitempty"`
	Production bool   `json:"production"`
	// Blocked: a hard check failed; the action is refused (exit 4).
	Blocked         bool         `json:"blocked"`
	Steps           []stepOut    `json:"steps"`
	Bake            *bakeOut     `json:"bake,omitempty"`
	Mark            *markOut     `json:"mark,omitempty"`
	Transfer        *transferOut `json:"transfer,omitempty"`
	Strategy        string       `json:"strategy,omitempty"`
	Capacity        string       `json:"capacity,omitempty"`
	EstimateSeconds int64        `json:"estimate_seconds,omitempty"`
	Checks          []checkOut   `json:"checks"`
	Reason          string       `json:"reason,omitempty"`
	CLI             string       `json:"cli,omitempty"`
	CreatedAt       time.Time    `json:"created_at"`
	Signals         *signalsOut  `json:"signals,omitempty"`
}

type imageOut struct {
	Image      string     `json:"image"`
	Label      string     `json:"label,omitempty"`
	ReleasedAt *time.Time `json:"released_at,omitempty"`
	ReleasedBy string     `json:"released_by,omitempty"`
}

type stepOut struct {
	Group           string   `json:"group"`
	LaunchTemplate  string   `json:"launch_template,omitempty"`
	Version         string   `json:"version,omitempty"`
	From            imageOut `json:"from"`
	To              imageOut `json:"to"`
	ToVersion       string   `json:"to_version,omitempty"`
	RefreshID       string   `json:"refresh_id,omitempty"`
	Instances       int      `json:"instances"`
	Desired         int32    `json:"desired"`
	MaxCapacity     int32    `json:"max_capacity"`
	RefreshStatus   string   `json:"refresh_status,omitempty"`
	RefreshPercent  int32    `json:"refresh_percent,omitempty"`
	InstancesOnTo   int      `json:"instances_on_to,omitempty"`
	InstancesOnFrom int      `json:"instances_on_from,omitempty"`
}

type bakeOut struct {
	Instance     string `json:"instance"`
	Label        string `json:"label"`
	NoReboot     bool   `json:"no_reboot"`
	Name         string `json:"name"`
	StandbyGroup string `json:"standby_group,omitempty"`
}

type markOut struct {
	Mark    markRecordOut `json:"mark"`
	Version int64         `json:"version"`
	Images  []string      `json:"images"`
}

type markRecordOut struct {
	Kind   string     `json:"kind"`
	When   *time.Time `json:"when,omitempty"`
	Env    string     `json:"env,omitempty"`
	Who    string     `json:"who,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

type transferOut struct {
	Image         string   `json:"image"`
	ImageName     string   `json:"image_name,omitempty"`
	Snapshots     []string `json:"snapshots,omitempty"`
	SourceEnv     string   `json:"source_env"`
	SourceAccount string   `json:"source_account,omitempty"`
	SourceRegion  string   `json:"source_region,omitempty"`
	TargetAccount string   `json:"target_account,omitempty"`
	TargetRegion  string   `json:"target_region,omitempty"`
	Share         bool     `json:"share"`
	Copy          bool     `json:"copy"`
}

type checkOut struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Warn   bool   `json:"warn,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func imageJSON(r model.ImageRef) imageOut {
	return imageOut{Image: r.ImageID, Label: r.Label, ReleasedAt: optTime(r.ReleasedAt), ReleasedBy: r.ReleasedBy}
}

func markJSON(m model.Mark) markRecordOut {
	return markRecordOut{Kind: string(m.Kind), When: optTime(m.When), Env: m.Env, Who: m.Who, Reason: m.Reason}
}

func planJSON(p model.Plan) planOut {
	out := planOut{SchemaVersion: schemaVersion, Type: "plan", Action: string(p.Action), Service: p.Service, Env: p.Env, Region: p.Region,
		Production: p.Production, Blocked: p.Blocked(), Steps: []stepOut{}, Checks: []checkOut{},
		Strategy: p.Strategy, Capacity: p.Capacity, EstimateSeconds: int64(p.RestoreEstimate.Seconds()),
		Reason: p.Reason, CLI: p.CLI, CreatedAt: p.CreatedAt}
	for _, s := range p.Steps {
		out.Steps = append(out.Steps, stepOut{Group: s.Group, LaunchTemplate: s.Template.Name, Version: s.Template.Version,
			From: imageJSON(s.FromImage), To: imageJSON(s.ToImage), ToVersion: s.ToVersion, RefreshID: s.RefreshID,
			Instances: s.Instances, Desired: s.Desired, MaxCapacity: s.MaxCapacity, RefreshStatus: s.RefreshStatus,
			RefreshPercent: s.RefreshPercent, InstancesOnTo: s.OnTo, InstancesOnFrom: s.OnFrom})
	}
	if b := p.Bake; b != nil {
		out.Bake = &bakeOut{Instance: b.InstanceID, Label: b.Label, NoReboot: b.NoReboot, Name: b.Name, StandbyGroup: b.StandbyGroup}
	}
	if m := p.Mark; m != nil {
		out.Mark = &markOut{Mark: markJSON(m.Mark), Version: m.Version, Images: m.Images}
	}
	if t := p.Transfer; t != nil {
		out.Transfer = &transferOut{Image: t.ImageID, ImageName: t.ImageName, Snapshots: t.Snapshots, SourceEnv: t.SourceEnv,
			SourceAccount: t.SourceAccount, SourceRegion: t.SourceRegion, TargetAccount: t.TargetAccount, TargetRegion: t.TargetRegion,
			Share: t.Share, Copy: t.Copy}
	}
	for _, c := range p.Checks {
		out.Checks = append(out.Checks, checkOut{Name: c.Name, OK: c.OK, Warn: c.Warn, Detail: c.Detail})
	}
	if p.Signals != nil {
		s := signalsJSON(*p.Signals)
		s.SchemaVersion = 0 // nested: the plan carries the version
		out.Signals = &s
	}
	return out
}

// historyOut is `history --json`, and the history part of `audit --service --json`.
type historyOut struct {
	SchemaVersion int             `json:"schema_version,omitempty"`
	Service       string          `json:"service"`
	Env           string          `json:"env"`
	Releases      []releaseOut    `json:"releases"`
	Refreshes     []refreshRecOut `json:"refreshes"`
	Activities    []activityOut   `json:"activities"`
	Ledgers       []ledgerOut     `json:"ledgers"`
	Problems      []string        `json:"problems,omitempty"`
}

type releaseOut struct {
	LaunchTemplateID string    `json:"launch_template_id,omitempty"`
	LaunchTemplate   string    `json:"launch_template"`
	Version          int64     `json:"version"`
	Image            string    `json:"image"`
	Description      string    `json:"description,omitempty"`
	CreatedBy        string    `json:"created_by,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	Default          bool      `json:"default"`
}

type refreshRecOut struct {
	Group          string     `json:"group"`
	ID             string     `json:"id"`
	Status         string     `json:"status"`
	Reason         string     `json:"reason,omitempty"`
	Percent        int32      `json:"percent"`
	ToGo           int32      `json:"instances_to_update"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	EndedAt        *time.Time `json:"ended_at,omitempty"`
	DesiredVersion string     `json:"desired_version,omitempty"`
	DesiredImage   string     `json:"desired_image,omitempty"`
}

type activityOut struct {
	Group       string     `json:"group"`
	Description string     `json:"description"`
	Cause       string     `json:"cause,omitempty"`
	Status      string     `json:"status"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
}

type ledgerOut struct {
	Group          string           `json:"group"`
	LaunchTemplate string           `json:"launch_template,omitempty"`
	Current        int64            `json:"current_version"`
	CurrentImage   string           `json:"current_image,omitempty"`
	HistoryKnown   bool             `json:"history_known"`
	HistoryProblem string           `json:"history_problem,omitempty"`
	Entries        []ledgerEntryOut `json:"entries"`
}

type ledgerEntryOut struct {
	Version      int64           `json:"version"`
	Image        string          `json:"image"`
	State        string          `json:"state"`
	Detail       string          `json:"detail,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	Who          string          `json:"who,omitempty"`
	Why          string          `json:"why,omitempty"`
	LiveFrom     *time.Time      `json:"live_from,omitempty"`
	LiveUntil    *time.Time      `json:"live_until,omitempty"`
	LiveInferred bool            `json:"live_inferred,omitempty"`
	Outcome      string          `json:"outcome,omitempty"`
	Marks        []markRecordOut `json:"marks,omitempty"`
}

func refreshRecJSON(group string, r model.Refresh) refreshRecOut {
	return refreshRecOut{Group: group, ID: r.ID, Status: r.Status, Reason: r.StatusReason, Percent: r.Percent, ToGo: r.InstancesToUpdate,
		StartedAt: optTime(r.StartedAt), EndedAt: optTime(r.EndedAt), DesiredVersion: r.DesiredVersion, DesiredImage: r.DesiredImage}
}

func historyJSON(h model.History) historyOut {
	out := historyOut{SchemaVersion: schemaVersion, Service: h.Name, Env: h.Env, Releases: []releaseOut{}, Refreshes: []refreshRecOut{},
		Activities: []activityOut{}, Ledgers: []ledgerOut{}, Problems: h.Problems}
	for _, r := range h.Releases {
		out.Releases = append(out.Releases, releaseOut{LaunchTemplateID: r.TemplateID, LaunchTemplate: r.TemplateName, Version: r.Version,
			Image: r.ImageID, Description: r.Description, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, Default: r.Default})
	}
	for _, r := range h.Refreshes {
		out.Refreshes = append(out.Refreshes, refreshRecJSON(r.Group, r.Refresh))
	}
	for _, a := range h.Activities {
		out.Activities = append(out.Activities, activityOut{Group: a.Group, Description: a.Description, Cause: a.Cause, Status: a.Status,
			StartedAt: optTime(a.StartedAt), EndedAt: optTime(a.EndedAt)})
	}
	for _, l := range h.Ledgers {
		lo := ledgerOut{Group: l.Group, LaunchTemplate: l.Template, Current: l.Current, CurrentImage: l.CurrentImage,
			HistoryKnown: l.HistoryKnown, HistoryProblem: l.HistoryProblem, Entries: []ledgerEntryOut{}}
		for _, e := range l.Entries {
			eo := ledgerEntryOut{Version: e.Version, Image: e.ImageID, State: string(e.State), Detail: e.Detail, CreatedAt: e.CreatedAt,
				Who: e.Who(), Why: e.Why(), LiveFrom: optTime(e.LiveFrom), LiveUntil: optTime(e.LiveUntil), LiveInferred: e.LiveInferred,
				Outcome: e.Outcome}
			for _, m := range e.Marks {
				eo.Marks = append(eo.Marks, markJSON(m))
			}
			lo.Entries = append(lo.Entries, eo)
		}
		out.Ledgers = append(out.Ledgers, lo)
	}
	return out
}

// auditOut is `audit --json`: the local audit log's events (model.AuditEvent is the log's own
// line format, snake_case already), and with --service the service's history.
type auditOut struct {
	SchemaVersion int                `json:"schema_version"`
	Actions       []model.AuditEvent `json:"actions"`
	History       *historyOut        `json:"history,omitempty"`
}

type alarmOut struct {
	Name   string     `json:"name"`
	Reason string     `json:"reason,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
	Metric string     `json:"metric,omitempty"`
}

type pointOut struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

func seriesJSON(s model.Series) []pointOut {
	out := make([]pointOut, 0, len(s))
	for _, p := range s {
		out = append(out, pointOut{At: p.At, Value: p.Value})
	}
	return out
}
