package main

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/sim"
)

func openTestStore(t *testing.T, path string) *demoStore {
	t.Helper()
	s, err := openDemoStore(path, false, false, false, func(time.Time) sim.Clock { return sim.RealClock{} }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func demoImage(t *testing.T, s *demoStore) string {
	t.Helper()
	out, err := s.clients().EC2.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil || len(out.Images) == 0 {
		t.Fatalf("images: %v", err)
	}
	return aws.ToString(out.Images[0].ImageId)
}

func imageTag(t *testing.T, s *demoStore, image, key string) string {
	t.Helper()
	out, err := s.clients().EC2.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{image}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("image %s: %v", image, err)
	}
	for _, tg := range out.Images[0].Tags {
		if aws.ToString(tg.Key) == key {
			return aws.ToString(tg.Value)
		}
	}
	return ""
}

func tag(t *testing.T, s *demoStore, image, key, value string) {
	t.Helper()
	if _, err := s.clients().EC2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{image},
		Tags: []ec2types.Tag{{Key: aws.String(key), Value: aws.String(value)}}}); err != nil {
		t.Fatal(err)
	}
}

// A console open while a CLI command changes the fleet: the console sees the change on its
// next read, and its own exit does not erase it.
func TestDemoStore_ConsoleKeepsACLIChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo-state.json")
	console := openTestStore(t, path)
	img := demoImage(t, console)

	cli := openTestStore(t, path)
	tag(t, cli, img, "note", "from the cli")
	if err := cli.close(); err != nil {
		t.Fatal(err)
	}
	if got := imageTag(t, console, img, "note"); got != "from the cli" {
		t.Errorf("the console reads %q, want the CLI's change", got)
	}
	if err := console.close(); err != nil {
		t.Fatal(err)
	}
	again := openTestStore(t, path)
	if got := imageTag(t, again, img, "note"); got != "from the cli" {
		t.Errorf("after the console quit the state holds %q, want the CLI's change", got)
	}
}

// Two writers at once: every change survives.
func TestDemoStore_ConcurrentChangesAllSurvive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo-state.json")
	first := openTestStore(t, path)
	img := demoImage(t, first)
	var wg sync.WaitGroup
	stores := []*demoStore{first, openTestStore(t, path), openTestStore(t, path)}
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				tag(t, s, img, "writer-"+string(rune('a'+i))+"-"+string(rune('0'+j)), "x")
			}
		}()
	}
	wg.Wait()
	for _, s := range stores {
		if err := s.close(); err != nil {
			t.Fatal(err)
		}
	}
	final := openTestStore(t, path)
	for i := range stores {
		for j := 0; j < 5; j++ {
			if imageTag(t, final, img, "writer-"+string(rune('a'+i))+"-"+string(rune('0'+j))) != "x" {
				t.Errorf("writer %d's change %d was lost", i, j)
			}
		}
	}
}

// Every mutating operation the action layer can call goes through the store's lock and
// save: demostore.go declares a method for each write operation of awsapi.WriteOperations on
// the wrapper of its service's client (a method left to the embedded client would change the
// fleet without saving it).
func TestDemoStore_WrapsEveryWriteOperation(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "demostore.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
			continue
		}
		if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok {
			declared[id.Name+"."+fn.Name.Name] = true
		}
	}
	wrapper := map[string]string{"autoscaling": "demoAutoScaling", "ec2": "demoEC2"}
	// An operation the simulator does not implement cannot change the demo fleet, so there
	// is nothing to save.
	simClients := sim.New(sim.NewManualClock(time.Unix(0, 0)), sim.Options{}).Clients()
	implemented := func(name string) bool {
		for _, c := range []any{simClients.AutoScaling, simClients.EC2, simClients.Images} {
			if c != nil && reflect.ValueOf(c).MethodByName(name).IsValid() {
				return true
			}
		}
		return false
	}
	for _, op := range awsapi.WriteOperations {
		if !implemented(op.Name) {
			continue
		}
		w, ok := wrapper[op.Service]
		if !ok {
			t.Errorf("%s:%s: the demo store wraps no %s client", op.Service, op.Name, op.Service)
			continue
		}
		if !declared[w+"."+op.Name] {
			t.Errorf("%s:%s is not run through the demo store (no %s.%s in demostore.go)", op.Service, op.Name, w, op.Name)
		}
	}
}

// The demo's two accounts live in one state file: a share made by one process (staging's
// identity) is what another process's production clients see.
func TestDemoStore_KeepsBothAccountsAndTheirShares(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "demo-state.json")
	first := openTestStore(t, path)
	clouds := first.world.Clouds()
	if len(clouds) != 2 || clouds[0].Account() != sim.DemoStagingAccount || clouds[1].Account() != sim.DemoProductionAccount {
		t.Fatalf("demo accounts %v, want staging's and production's", clouds)
	}
	staging, production := first.clientsOf(clouds[0]), first.clientsOf(clouds[1])
	sees := func(c awsapi.Clients, image string) bool {
		_, err := c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{image}})
		return err == nil
	}
	out, err := staging.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	image := ""
	for _, img := range out.Images {
		if !sees(production, aws.ToString(img.ImageId)) {
			image = aws.ToString(img.ImageId)
			break
		}
	}
	if image == "" {
		t.Fatal("every staging image is shared with production: the demo has nothing for a promote to share")
	}
	if _, err := staging.Images.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(image),
		LaunchPermission: &ec2types.LaunchPermissionModifications{Add: []ec2types.LaunchPermission{{UserId: aws.String(sim.DemoProductionAccount)}}}}); err != nil {
		t.Fatal(err)
	}
	second := openTestStore(t, path)
	if !sees(second.clientsOf(second.world.Clouds()[1]), image) {
		t.Errorf("another process's production does not see %s, which staging shared", image)
	}
}

// A state saved by an older adstage-ops (one account holding both environments) runs as it
// was.
func TestDemoStore_LoadsAOneAccountState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo-state.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.NewDemo(sim.NewManualClock(time.Now())).Save(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err := openDemoStore(path, true, false, false, func(time.Time) sim.Clock { return sim.RealClock{} }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if clouds := s.world.Clouds(); len(clouds) != 1 || clouds[0].Account() != sim.DefaultAccount {
		t.Fatalf("accounts %v, want the one saved", clouds)
	}
	if img := demoImage(t, s); img == "" {
		t.Error("no images in the one-account state")
	}
}
