package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/adstage/adstage-ops/aws/sim"
)

// TestMain lets the test binary stand in for the adstage-ops binary: testscript puts a copy
// of it on the scripts' PATH under that name, and running it calls run as main does.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"adstage-ops": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// demoSpeed makes the demo fleet's simulated time run 200 times faster than the wall clock:
// a rollout of a few simulated minutes ends within the 2 s an action waits between polls.
const demoSpeed = "200"

// TestScripts runs the end-to-end CLI scripts in testdata/script against the demo fleet. Each
// script has its own home, state directory (demo fleet and audit log) and config directory,
// and no AWS settings at all: nothing in them may reach AWS.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, "state"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "config"))
			env.Setenv("ADSTAGE_DEMO_SPEED", demoSpeed)
			// Point the SDK's shared files at nothing so that a test that reached for AWS
			// would fail on missing credentials rather than use the developer's.
			env.Setenv("AWS_CONFIG_FILE", filepath.Join(env.WorkDir, "no-aws-config"))
			env.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(env.WorkDir, "no-aws-credentials"))
			env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":      cmdExits,
			"jsonq":      cmdJSONQ,
			"grepset":    cmdGrepSet,
			"jsonstream": cmdJSONStream,
			"demo-admin": cmdDemoAdmin,
			"waitfor":    cmdWaitFor,
			"sleep":      cmdSleep,
		},
	})
}

// cmdExits runs a program and requires its exact exit code: `exits CODE prog args...`, where
// CODE may list the codes allowed (0,1). stdout and stderr are kept for the stdout/stderr
// commands that follow, as exec keeps them.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("exits does not support !")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits CODE program [args...]")
	}
	want := map[int]bool{}
	for _, c := range strings.Split(args[0], ",") {
		n, err := strconv.Atoi(c)
		if err != nil {
			ts.Fatalf("exits: bad exit code %q", c)
		}
		want[n] = true
	}
	err := ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		got = ee.ExitCode()
	default:
		ts.Fatalf("exits: run %s: %v", args[1], err)
	}
	if !want[got] {
		ts.Fatalf("%s exited with %d, want %s", args[1], got, args[0])
	}
}

// cmdJSONQ reads one value out of a JSON document: `jsonq [-set VAR] FILE PATH`. FILE may be
// stdout or stderr (the last command's output); of a stream of values, the first is read. PATH is dot-separated: object keys, array
// indexes, `len()` for the length of an array or object, and [k=v,k2=v2] for the first array
// element whose fields have those values. The value (strings unquoted, the rest as JSON) is
// written to stdout, or with -set stored in the environment variable VAR. A missing value
// fails the script; `! jsonq FILE PATH` asserts that it is missing.
func cmdJSONQ(ts *testscript.TestScript, neg bool, args []string) {
	setVar := ""
	if len(args) > 0 && args[0] == "-set" {
		if len(args) < 2 || neg {
			ts.Fatalf("usage: jsonq [-set VAR] FILE PATH")
		}
		setVar, args = args[1], args[2:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: jsonq [-set VAR] FILE PATH")
	}
	var doc any
	if err := json.NewDecoder(strings.NewReader(ts.ReadFile(args[0]))).Decode(&doc); err != nil {
		ts.Fatalf("jsonq: %s does not start with JSON: %v", args[0], err)
	}
	v, err := jsonPath(doc, args[1])
	if neg {
		if err == nil {
			ts.Fatalf("jsonq: %s has %s = %v, want none", args[0], args[1], v)
		}
		return
	}
	if err != nil {
		ts.Fatalf("jsonq: %s: %v", args[0], err)
	}
	out := ""
	if s, ok := v.(string); ok {
		out = s
	} else {
		b, _ := json.Marshal(v)
		out = string(b)
	}
	if setVar != "" {
		ts.Setenv(setVar, out)
		return
	}
	fmt.Fprintln(ts.Stdout(), out)
}

// jsonPath walks doc along path (see cmdJSONQ).
func jsonPath(doc any, path string) (any, error) {
	cur := doc
	walked := "$"
	for _, seg := range splitPath(path) {
		switch node := cur.(type) {
		case map[string]any:
			if seg == "len()" {
				cur = float64(len(node))
				break
			}
			v, ok := node[seg]
			if !ok {
				return nil, fmt.Errorf("%s has no key %q", walked, seg)
			}
			cur = v
		case []any:
			switch {
			case seg == "len()":
				cur = float64(len(node))
			case strings.HasPrefix(seg, "[") && strings.HasSuffix(seg, "]"):
				found := false
				for _, el := range node {
					if matches(el, seg[1:len(seg)-1]) {
						cur, found = el, true
						break
					}
				}
				if !found {
					return nil, fmt.Errorf("%s has no element %s", walked, seg)
				}
			default:
				i, err := strconv.Atoi(seg)
				if err != nil || i < 0 || i >= len(node) {
					return nil, fmt.Errorf("%s has %d elements, no %q", walked, len(node), seg)
				}
				cur = node[i]
			}
		default:
			return nil, fmt.Errorf("%s is %v, not an object or array (looking for %q)", walked, cur, seg)
		}
		walked += "." + seg
	}
	return cur, nil
}

// splitPath splits at dots outside brackets.
func splitPath(path string) []string {
	var segs []string
	depth, start := 0, 0
	for i, r := range path {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				segs = append(segs, path[start:i])
				start = i + 1
			}
		}
	}
	return append(segs, path[start:])
}

// matches reports whether the object el has every k=v of sel (values compared as text).
func matches(el any, sel string) bool {
	obj, ok := el.(map[string]any)
	if !ok {
		return false
	}
	for _, kv := range strings.Split(sel, ",") {
		k, want, ok := strings.Cut(kv, "=")
		if !ok {
			return false
		}
		v, ok := obj[k]
		if !ok {
			return false
		}
		got := fmt.Sprint(v)
		if s, isStr := v.(string); isStr {
			got = s
		}
		if got != want {
			return false
		}
	}
	return true
}

// cmdGrepSet stores the first submatch of a regular expression in an environment variable:
// `grepset VAR REGEXP FILE` (FILE may be stdout or stderr). No match fails the script.
func cmdGrepSet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: grepset VAR REGEXP FILE")
	}
	re, err := regexp.Compile(`(?m)` + args[1])
	if err != nil {
		ts.Fatalf("grepset: %v", err)
	}
	if re.NumSubexp() < 1 {
		ts.Fatalf("grepset: %q has no group to capture", args[1])
	}
	m := re.FindStringSubmatch(ts.ReadFile(args[2]))
	if m == nil {
		ts.Fatalf("grepset: no match for %q in %s", args[1], args[2])
	}
	ts.Setenv(args[0], m[1])
}

// cmdJSONStream checks that a file is nothing but a stream of JSON values (as --json output
// of an action is: the plan, then one object per progress event) and writes how many there
// are to stdout: `jsonstream FILE`. Any text between or after the values fails the script.
func cmdJSONStream(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: jsonstream FILE")
	}
	n, err := countJSONValues(ts.ReadFile(args[0]))
	if err != nil {
		ts.Fatalf("jsonstream: %s: value %d: %v", args[0], n+1, err)
	}
	fmt.Fprintln(ts.Stdout(), n)
}

// countJSONValues counts the JSON values in s, failing on anything that is not one.
func countJSONValues(s string) (int, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	n := 0
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// cmdDemoAdmin changes a saved demo fleet the way AWS can change under the console, for the
// failure paths: `demo-admin STATEFILE bad AMI` makes instances launched from AMI fail their
// health checks (a rollout of it rolls itself back); `demo-admin STATEFILE deregister AMI`
// deregisters the image.
func cmdDemoAdmin(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: demo-admin STATEFILE bad|deregister AMI, or demo-admin STATEFILE delete-target-group NAME")
	}
	path := ts.MkAbs(args[0])
	f, err := os.Open(path)
	ts.Check(err)
	world, err := sim.LoadPartition(f, nil)
	f.Close()
	ts.Check(err)
	// Each change goes to the accounts it applies to: an image misbehaves wherever it is
	// launched; an image or a target group is deleted in the account that has it.
	var errs []error
	for _, cloud := range world.Clouds() {
		switch args[1] {
		case "bad":
			cloud.MarkImageBad(args[2])
		case "deregister":
			errs = append(errs, cloud.DeregisterImage(args[2]))
		case "delete-target-group":
			errs = append(errs, cloud.DeleteTargetGroup(args[2]))
		default:
			ts.Fatalf("demo-admin: unknown change %q", args[1])
		}
	}
	if len(errs) > 0 && !slices.Contains(errs, nil) {
		ts.Fatalf("demo-admin: %v", errors.Join(errs...))
	}
	out, err := os.Create(path)
	ts.Check(err)
	ts.Check(world.Save(out))
	ts.Check(out.Close())
}

// cmdWaitFor waits until a file matches a regular expression: `waitfor FILE REGEXP`, for a
// background command to reach a point (an audit line, say). It gives up after 30 s.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP")
	}
	re, err := regexp.Compile(`(?m)` + args[1])
	if err != nil {
		ts.Fatalf("waitfor: %v", err)
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && re.Match(b) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfor: %s did not match %q within 30s", args[0], args[1])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdSleep pauses the script: `sleep DURATION` (at most 5 s), to let a background command
// get past a point that leaves no trace outside it.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	if err != nil || d < 0 || d > 5*time.Second {
		ts.Fatalf("sleep: want a duration up to 5s, not %q", args[0])
	}
	time.Sleep(d)
}

// TestJSONPath checks the path walker the scripts rely on, so that a script's jsonq cannot
// pass by reading the wrong thing.
func TestJSONPath(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(`{"services":[{"service":"api","env":"staging","n":3,"groups":[{"name":"g1"}]},{"service":"api","env":"production","n":6,"groups":[]}]}`), &doc); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want any
		err  bool
	}{
		{"services.len()", float64(2), false},
		{"services.1.env", "production", false},
		{"services.[service=api,env=production].n", float64(6), false},
		{"services.[service=api,n=3].groups.0.name", "g1", false},
		{"services.[service=api,env=review]", nil, true},
		{"services.2", nil, true},
		{"services.0.nope", nil, true},
		{"services.0.env.x", nil, true},
	}
	for _, c := range cases {
		got, err := jsonPath(doc, c.path)
		if (err != nil) != c.err {
			t.Errorf("%s: error %v, want error %v", c.path, err, c.err)
			continue
		}
		if !c.err && got != c.want {
			t.Errorf("%s = %v, want %v", c.path, got, c.want)
		}
	}
}

// TestCountJSONValues checks the stream checker: text after the values must be caught.
func TestCountJSONValues(t *testing.T) {
	if n, err := countJSONValues("{\"a\": 1}\n{\"b\": [2]}\n"); err != nil || n != 2 {
		t.Errorf("two objects: %d, %v", n, err)
	}
	if n, err := countJSONValues(""); err != nil || n != 0 {
		t.Errorf("empty: %d, %v", n, err)
	}
	if _, err := countJSONValues("{\"a\": 1}\npromote of x finished\n"); err == nil {
		t.Error("text after the JSON was accepted")
	}
}
