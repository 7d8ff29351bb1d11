package main

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLayoutImportsPointOneWay holds the code map of the README: model <- aws/... <- tui <- cmd,
// and inside aws/ each package imports only the ones drawn below it. A new import that points
// upwards (or a package outside this map) fails here before it blurs the design.
func TestLayoutImportsPointOneWay(t *testing.T) {
	const mod = "github.com/adstage/adstage-ops/"
	allowed := map[string][]string{
		"model":                {},
		"aws/audit":            {"aws/awsapi", "model"},
		"aws/awsapi":           {"model"},
		"aws/awsapi/fake":      {"aws/awsapi", "model"},
		"aws/inventory":        {"aws/signals", "aws/awsapi", "model"},
		"aws/signals":          {"aws/awsapi", "model"},
		"aws/ops":              {"aws/inventory", "aws/audit", "aws/awsapi", "model"},
		"aws/sim":              {"aws/awsapi", "model"},
		"aws/internal/awstest": {"aws/awsapi", "model"},
		"tui":                  {"aws/ops", "aws/awsapi", "model"},
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for pkg, ok := range allowed {
		p, err := build.ImportDir(filepath.Join(root, pkg), 0)
		if err != nil {
			t.Errorf("%s: %v", pkg, err)
			continue
		}
		if p.Name == "aws" {
			t.Errorf("%s is named aws, like the SDK's package", pkg)
		}
		for _, imp := range p.Imports {
			if own, isOwn := strings.CutPrefix(imp, mod); isOwn && !slices.Contains(ok, own) {
				t.Errorf("%s imports %s: only %v may be imported from there", pkg, own, ok)
			}
			if pkg == "tui" && strings.HasPrefix(imp, "github.com/aws/aws-sdk-go-v2/service/") {
				t.Errorf("tui imports the SDK's %s: the console reaches AWS only through aws/ops", imp)
			}
		}
	}
}
