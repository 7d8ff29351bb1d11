package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	good := `
tag_keys:
  service: App
  environment: Stage
skip_untagged: true
refresh: 10s
environments:
  production:
    profile: prod-admin
    region: eu-west-1
    read_only: true
  qa:
    color: "#00ff00"
    production: false
rollout:
  min_healthy_percentage: 90
  instance_warmup: 60
`
	var c Config
	if err := parseConfig([]byte(good), &c); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if c.tags().Service != "App" || c.tags().Environment != "Stage" || !c.SkipUntagged {
		t.Errorf("tag keys not read: %+v", c)
	}
	if !c.production("production") || c.production("qa") || c.production("staging") {
		t.Error("production detection wrong")
	}
	if !c.Environments["production"].ReadOnly {
		t.Error("read_only not read")
	}
	r := c.rollout()
	// No maximum set: 190, the widest AWS allows above 90 (200 would be refused).
	if r.MinHealthyPercentage != 90 || r.MaxHealthyPercentage != 190 || r.InstanceWarmup != 60 || !r.SkipMatching || !r.AutoRollback {
		t.Errorf("rollout prefs: %+v", r)
	}
	if got := c.envColors()["production"]; got != "1" {
		t.Errorf("production colour %q, want red (1)", got)
	}

	bad := []struct {
		name, yaml, want string
	}{
		{"unknown key", "tag_keys:\n  service: A\nrefrsh: 5s\n", "[3:1]"},
		{"unknown nested key", "environments:\n  prod:\n    profle: x\n", "[3:5]"},
		{"bad duration", "refresh: soon\n", "duration"},
		{"bad type", "skip_untagged: maybe\n", "[1:"},
		{"bad percentage", "rollout:\n  max_healthy_percentage: 300\n", "[2:27] rollout.max_healthy_percentage must be 100-200"},
		{"bad colour", "environments:\n  prod:\n    color: blurple\n", "[3:12] environments.prod.color is \"blurple\", not a colour"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			var c Config
			err := parseConfig([]byte(b.yaml), &c)
			if err == nil {
				t.Fatalf("accepted %q", b.yaml)
			}
			if !strings.Contains(err.Error(), b.want) {
				t.Errorf("error %q does not mention %q", err, b.want)
			}
		})
	}
}

func TestLoadConfigRefusesHugeFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	big := "refresh: 5s\n# " + strings.Repeat("x", maxConfigBytes) + "\n"
	if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(path, true); err == nil || !strings.Contains(err.Error(), "over 1 MiB") {
		t.Errorf("err = %v, want the size named", err)
	}
}

func TestParseConfigAlarmPattern(t *testing.T) {
	var c Config
	if err := parseConfig([]byte("signals:\n  alarm_pattern: \"{service}-{env}-*\"\n"), &c); err != nil || c.Signals.AlarmPattern != "{service}-{env}-*" {
		t.Errorf("good pattern: %v %q", err, c.Signals.AlarmPattern)
	}
	if err := parseConfig([]byte("signals:\n  alarm_pattern: \"[{service}\"\n"), &c); err == nil || !strings.Contains(err.Error(), "not a pattern") {
		t.Errorf("bad pattern: %v", err)
	}
}
