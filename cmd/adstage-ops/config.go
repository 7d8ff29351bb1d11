package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/adstage/adstage-ops/model"
	"github.com/adstage/adstage-ops/tui"
)

// Config is the file under os.UserConfigDir()/adstage-ops/config.yaml. Flags override it.
type Config struct {
	TagKeys      TagKeysConfig        `yaml:"tag_keys"`
	SkipUntagged bool                 `yaml:"skip_untagged"`
	RefreshText  string               `yaml:"refresh"`
	Refresh      time.Duration        `yaml:"-"`
	Environments map[string]EnvConfig `yaml:"environments"`
	Rollout      RolloutConfig        `yaml:"rollout"`
	Signals      SignalsConfig        `yaml:"signals"`
	Audit        AuditConfig          `yaml:"audit"`
	// Theme is the console's colours: default, or high-contrast. NO_COLOR outranks it.
	Theme string `yaml:"theme"`
}

// SignalsConfig tunes the CloudWatch signals.
type SignalsConfig struct {
	// AlarmPattern names alarms that belong to a service besides those whose dimensions
	// name its balancers or groups, e.g. "{service}-{env}-*" (path.Match syntax).
	AlarmPattern string `yaml:"alarm_pattern"`
}

// TagKeysConfig names the ASG tags that identify services and environments.
type TagKeysConfig struct {
	Service     string `yaml:"service"`
	Environment string `yaml:"environment"`
}

// EnvConfig maps an environment to its AWS identity and how the console treats it. The
// identity is a profile, or a role assumed from a base profile (role_arn with its optional
// external_id and session_name); neither is the default credential chain. region or regions
// name where its groups live (none: the profile's or AWS_REGION); tag_keys override the
// global keys for this environment's groups.
type EnvConfig struct {
	Profile     string         `yaml:"profile"`
	RoleARN     string         `yaml:"role_arn"`
	ExternalID  string         `yaml:"external_id"`
	SessionName string         `yaml:"session_name"`
	Region      string         `yaml:"region"`
	Regions     []string       `yaml:"regions"`
	TagKeys     *TagKeysConfig `yaml:"tag_keys"`
	Color       string         `yaml:"color"`
	Production  *bool          `yaml:"production"`
	ReadOnly    bool           `yaml:"read_only"`
}

// Identity is who an environment's clients act as: the profile, or the role assumed from it.
// The zero Identity is the default credential chain.
type Identity struct {
	Profile, RoleARN, ExternalID, SessionName string
}

// IsDefault reports whether the identity is the default credential chain.
func (i Identity) IsDefault() bool { return i == Identity{} }

// String names the identity the way the operator wrote it.
func (i Identity) String() string {
	switch {
	case i.RoleARN != "":
		return fmt.Sprintf("role %s from profile %s", i.RoleARN, i.Profile)
	case i.Profile != "":
		return "profile " + i.Profile
	}
	return "the default credentials"
}

// identity is the environment's identity.
func (e EnvConfig) identity() Identity {
	return Identity{Profile: e.Profile, RoleARN: e.RoleARN, ExternalID: e.ExternalID, SessionName: e.SessionName}
}

// regions lists where the environment's groups live; one "" means the profile's default.
func (e EnvConfig) regions() []string {
	switch {
	case len(e.Regions) > 0:
		return e.Regions
	case e.Region != "":
		return []string{e.Region}
	}
	return []string{""}
}

// located reports whether the environment names an identity or a region of its own: the
// console then reads it with its own clients.
func (e EnvConfig) located() bool {
	return !e.identity().IsDefault() || e.Region != "" || len(e.Regions) > 0
}

// RolloutConfig holds the instance refresh preferences of a promote.
type RolloutConfig struct {
	MinHealthyPercentage *int32 `yaml:"min_healthy_percentage"`
	MaxHealthyPercentage *int32 `yaml:"max_healthy_percentage"`
	InstanceWarmup       *int32 `yaml:"instance_warmup"`
	SkipMatching         *bool  `yaml:"skip_matching"`
	AutoRollback         *bool  `yaml:"auto_rollback"`
}

// defaultConfigPath is where the config file lives unless --config says otherwise.
func defaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "adstage-ops", "config.yaml")
}

// maxConfigBytes bounds the config file.
const maxConfigBytes = 1 << 20

// loadConfig reads the config file. A missing file is fine unless the user named it.
func loadConfig(path string, explicit bool) (Config, error) {
	var c Config
	if path == "" {
		return c, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	// A config is a few hundred bytes; a huge file is a mistake (or an attack on the parser).
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if len(data) > maxConfigBytes {
		return c, fmt.Errorf("config %s is over 1 MiB; a config is a few lines of YAML: name the right file with --config", path)
	}
	if err := parseConfig(data, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// parseConfig decodes strictly: unknown keys and bad values are errors that name the line.
func parseConfig(data []byte, c *Config) error {
	if err := yaml.UnmarshalWithOptions(data, c, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		return errors.New(strings.TrimSpace(yaml.FormatError(err, false, true)))
	}
	switch c.Theme {
	case "", tui.ThemeDefault, tui.ThemeHighContrast:
	default:
		return atLine(data, "$.theme", fmt.Errorf("is %q, not a theme (use %s or %s)", c.Theme, tui.ThemeDefault, tui.ThemeHighContrast))
	}
	if c.RefreshText != "" {
		v, err := time.ParseDuration(c.RefreshText)
		switch {
		case err != nil:
			return atLine(data, "$.refresh", fmt.Errorf("must be a duration like 5s or 1m, not %q", c.RefreshText))
		case v < time.Second:
			return atLine(data, "$.refresh", fmt.Errorf("must be at least 1s, not %s", v))
		}
		c.Refresh = v
	}
	if p := c.Signals.AlarmPattern; p != "" {
		if _, err := path.Match(strings.NewReplacer("{service}", "s", "{env}", "e").Replace(p), ""); err != nil {
			return atLine(data, "$.signals.alarm_pattern", fmt.Errorf("is %q, not a pattern (use * and ? with {service} and {env}, e.g. \"{service}-{env}-*\")", p))
		}
	}
	if g := c.Audit.LogGroup; g != "" && !logGroupRE.MatchString(g) {
		return atLine(data, "$.audit.log_group", fmt.Errorf("is %q, not a CloudWatch Logs group name (1-512 of a-z, A-Z, 0-9, _ - / . #)", g))
	}
	if c.Audit.LogGroup == "" && (c.Audit.Profile != "" || c.Audit.Region != "") {
		return atLine(data, "$.audit", errors.New("names a profile or region but no log_group: add log_group, the CloudWatch Logs group the team's audit log goes to"))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Environments)) {
		e := c.Environments[name]
		if e.Color != "" && !validColor(e.Color) {
			return atLine(data, "$.environments."+name+".color", fmt.Errorf("is %q, not a colour (use a name like red, a number 0-255 or #rrggbb)", e.Color))
		}
		if err := validateEnvIdentity(data, name, e); err != nil {
			return err
		}
	}
	if p := c.Rollout.MinHealthyPercentage; p != nil && (*p < 0 || *p > 100) {
		return atLine(data, "$.rollout.min_healthy_percentage", fmt.Errorf("must be 0-100, not %d", *p))
	}
	if p := c.Rollout.MaxHealthyPercentage; p != nil && (*p < 100 || *p > 200) {
		return atLine(data, "$.rollout.max_healthy_percentage", fmt.Errorf("must be 100-200, not %d", *p))
	}
	if err := c.rollout().Validate(); err != nil {
		path := "$.rollout.max_healthy_percentage"
		if c.Rollout.MaxHealthyPercentage == nil {
			path = "$.rollout.min_healthy_percentage"
		}
		return atLine(data, path, err)
	}
	if w := c.Rollout.InstanceWarmup; w != nil && *w < 0 {
		return atLine(data, "$.rollout.instance_warmup", fmt.Errorf("must be 0 or more seconds, not %d", *w))
	}
	return nil
}

// sessionNameRE and externalIDRE are what sts:AssumeRole accepts for RoleSessionName and
// ExternalId.
var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`) // 2-1224 characters, checked apart
	roleARNRE     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`)
)

// validateEnvIdentity checks an environment's identity and regions: a role needs a base
// profile to assume it from; external_id and session_name belong to a role; region and
// regions exclude each other; a region listed twice would read the same environment twice
// with the same identity.
func validateEnvIdentity(data []byte, name string, e EnvConfig) error {
	at := func(key string, format string, args ...any) error {
		return atLine(data, "$.environments."+name+"."+key, fmt.Errorf(format, args...))
	}
	switch {
	case e.RoleARN != "" && !roleARNRE.MatchString(e.RoleARN):
		return at("role_arn", "is %q, not a role ARN (arn:aws:iam::123456789012:role/NAME)", e.RoleARN)
	case e.RoleARN != "" && e.Profile == "":
		return at("role_arn", "names a role but %s has no base profile to assume it from: add profile: with the profile whose credentials may call sts:AssumeRole on it", name)
	case e.ExternalID != "" && e.RoleARN == "":
		return at("external_id", "belongs to a role: add role_arn: for %s, or remove external_id", name)
	case e.SessionName != "" && e.RoleARN == "":
		return at("session_name", "belongs to a role: add role_arn: for %s, or remove session_name", name)
	case e.ExternalID != "" && (!externalIDRE.MatchString(e.ExternalID) || len(e.ExternalID) < 2 || len(e.ExternalID) > 1224):
		return at("external_id", "must be 2-1224 letters, digits or +=,.@:/-_ (what sts:AssumeRole accepts)")
	case e.SessionName != "" && !sessionNameRE.MatchString(e.SessionName):
		return at("session_name", "is %q: a session name is 2-64 letters, digits or +=,.@-_ (what sts:AssumeRole accepts)", e.SessionName)
	case e.Region != "" && len(e.Regions) > 0:
		return at("regions", "and region are both set for %s: keep one (regions: [%s, ...] for several)", name, e.Region)
	}
	if e.TagKeys != nil && e.TagKeys.Service == "" && e.TagKeys.Environment == "" {
		return at("tag_keys", "is empty: name service: and/or environment: for %s's groups, or remove tag_keys", name)
	}
	seen := map[string]int{}
	for i, r := range e.Regions {
		if r == "" {
			return at(fmt.Sprintf("regions[%d]", i), "is empty: name a region such as us-east-1")
		}
		if j, ok := seen[r]; ok {
			return at(fmt.Sprintf("regions[%d]", i), "repeats %s (also regions[%d]): %s would be read twice in %s with %s; list each region once", r, j, name, r, e.identity())
		}
		seen[r] = i
	}
	return nil
}

// atLine prefixes a validation error with the line and the key of the value it is about, in
// the same "[line:column] key problem" shape as the decoder's own errors.
func atLine(data []byte, path string, err error) error {
	key := strings.TrimPrefix(path, "$.")
	p, perr := yaml.PathString(path)
	if perr != nil {
		return fmt.Errorf("%s %w", key, err)
	}
	node, nerr := p.ReadNode(bytes.NewReader(data))
	if nerr != nil || node == nil || node.GetToken() == nil {
		return fmt.Errorf("%s %w", key, err)
	}
	pos := node.GetToken().Position
	return fmt.Errorf("[%d:%d] %s %w", pos.Line, pos.Column, key, err)
}

var colorNames = map[string]string{
	"red": "1", "green": "2", "yellow": "3", "blue": "4", "magenta": "5", "cyan": "6", "white": "7",
	"gray": "8", "grey": "8", "orange": "208", "purple": "5",
}

func validColor(s string) bool {
	if _, ok := colorNames[s]; ok {
		return true
	}
	if strings.HasPrefix(s, "#") && len(s) == 7 {
		return true
	}
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	return err == nil && n >= 0 && n <= 255 && fmt.Sprint(n) == s
}

// lipglossColor turns a configured colour into what lipgloss takes.
func lipglossColor(s string) string {
	if v, ok := colorNames[s]; ok {
		return v
	}
	return s
}

// production reports whether an environment asks harder: configured, or named like production.
func (c Config) production(env string) bool {
	if e, ok := c.Environments[env]; ok && e.Production != nil {
		return *e.Production
	}
	switch strings.ToLower(env) {
	case "production", "prod", "prd":
		return true
	}
	return false
}

// envColors is the colour of each environment: configured, production red by default.
func (c Config) envColors() map[string]string {
	out := map[string]string{"production": "1", "prod": "1", "staging": "3", "review": "6"}
	for name, e := range c.Environments {
		if e.Color != "" {
			out[name] = lipglossColor(e.Color)
		} else if c.production(name) {
			out[name] = "1"
		}
	}
	return out
}

// envTags are the tag keys of one environment's groups: its own tag_keys over the global ones.
func (c Config) envTags(env string) model.TagKeys {
	t := c.tags()
	if e, ok := c.Environments[env]; ok && e.TagKeys != nil {
		if e.TagKeys.Service != "" {
			t.Service = e.TagKeys.Service
		}
		if e.TagKeys.Environment != "" {
			t.Environment = e.TagKeys.Environment
		}
	}
	return t
}

func (c Config) tags() model.TagKeys {
	t := model.DefaultTagKeys
	if c.TagKeys.Service != "" {
		t.Service = c.TagKeys.Service
	}
	if c.TagKeys.Environment != "" {
		t.Environment = c.TagKeys.Environment
	}
	return t
}

func (c Config) rollout() model.RolloutPrefs {
	p := model.RolloutPrefs{}.Resolved() // the defaults; the config overrides what it sets
	r := c.Rollout
	if r.MinHealthyPercentage != nil {
		p.MinHealthyPercentage = *r.MinHealthyPercentage
		// Without a maximum, the widest AWS allows above this minimum.
		p.MaxHealthyPercentage = min(200, p.MinHealthyPercentage+100)
	}
	if r.MaxHealthyPercentage != nil {
		p.MaxHealthyPercentage = *r.MaxHealthyPercentage
	}
	if r.InstanceWarmup != nil {
		p.InstanceWarmup = *r.InstanceWarmup
	}
	if r.SkipMatching != nil {
		p.SkipMatching = *r.SkipMatching
	}
	if r.AutoRollback != nil {
		p.AutoRollback = *r.AutoRollback
	}
	return p
}
