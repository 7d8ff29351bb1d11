package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/adstage/adstage-ops/model"
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

// EnvConfig maps an environment to its AWS identity and how the console treats it.
type EnvConfig struct {
	Profile    string `yaml:"profile"`
	Region     string `yaml:"region"`
	Color      string `yaml:"color"`
	Production *bool  `yaml:"production"`
	ReadOnly   bool   `yaml:"read_only"`
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
	for name, e := range c.Environments {
		if e.Color != "" && !validColor(e.Color) {
			return atLine(data, "$.environments."+name+".color", fmt.Errorf("is %q, not a colour (use a name like red, a number 0-255 or #rrggbb)", e.Color))
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
