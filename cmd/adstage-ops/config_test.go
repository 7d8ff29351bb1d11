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

func TestParseConfig_Identities(t *testing.T) {
	good := `
environments:
  production:
    profile: base
    role_arn: arn:aws:iam::222222222222:role/deployer
    external_id: adstage-ops
    session_name: alice.ops
    regions: [us-east-1, eu-west-1]
    tag_keys:
      environment: Stage
  staging:
    profile: staging
    region: eu-west-1
  review: {}
`
	var c Config
	if err := parseConfig([]byte(good), &c); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if got := c.envTags("production"); got.Environment != "Stage" || got.Service != "Service" {
		t.Errorf("production tag keys = %+v", got)
	}
	specs := c.memberSpecs()
	var names []string
	for _, s := range specs {
		names = append(names, s.name())
	}
	want := []string{
		"production (role arn:aws:iam::222222222222:role/deployer from profile base, us-east-1)",
		"production (role arn:aws:iam::222222222222:role/deployer from profile base, eu-west-1)",
		// review names no identity: the default chain reads it, and every environment the
		// config does not name.
		"review and other environments (the default credentials)",
		"staging (profile staging, eu-west-1)",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("members:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if !specs[2].catchAll || specs[0].identity.ExternalID != "adstage-ops" || specs[0].identity.SessionName != "alice.ops" {
		t.Errorf("specs: %+v", specs)
	}
	// A promote from staging to production reads only those two.
	if got := c.memberSpecs("production", "staging"); len(got) != 3 {
		t.Errorf("promote members = %d, want 3 (production's two regions and staging)", len(got))
	}
	// No environment with its own identity or region: one set of clients, as before.
	var plain Config
	if err := parseConfig([]byte("environments:\n  production:\n    color: red\n"), &plain); err != nil {
		t.Fatal(err)
	}
	if plain.memberSpecs() != nil {
		t.Error("a config without identities builds members")
	}

	bad := []struct{ name, yaml, want string }{
		{"role without base profile", "environments:\n  production:\n    role_arn: arn:aws:iam::222222222222:role/deployer\n",
			"[3:15] environments.production.role_arn names a role but production has no base profile"},
		{"not a role ARN", "environments:\n  production:\n    profile: p\n    role_arn: deployer\n", "[4:15] environments.production.role_arn is \"deployer\", not a role ARN"},
		{"external id without role", "environments:\n  staging:\n    profile: p\n    external_id: xyz\n", "[4:18] environments.staging.external_id belongs to a role"},
		{"session name without role", "environments:\n  staging:\n    session_name: me\n", "[3:19] environments.staging.session_name belongs to a role"},
		{"bad session name", "environments:\n  p:\n    profile: b\n    role_arn: arn:aws:iam::222222222222:role/r\n    session_name: \"a b\"\n", "environments.p.session_name is \"a b\""},
		{"region and regions", "environments:\n  p:\n    region: us-east-1\n    regions: [eu-west-1]\n", "[4:14] environments.p.regions and region are both set"},
		{"duplicate identity, region and environment", "environments:\n  production:\n    profile: prod\n    regions: [us-east-1, eu-west-1, us-east-1]\n",
			"environments.production.regions[2] repeats us-east-1 (also regions[0]): production would be read twice in us-east-1 with profile prod"},
		{"empty tag keys", "environments:\n  p:\n    tag_keys: {}\n", "environments.p.tag_keys is empty"},
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
