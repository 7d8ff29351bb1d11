package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/gofrs/flock"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/sim"
)

// demoStore keeps the demo fleet in its state file, shared by every adstage-ops process that
// uses it: a console and CLI commands may run at once and none loses another's change.
//   - Every change (a mutating API call) happens under an exclusive lock on PATH.lock: the
//     store first takes in what another process saved, then makes the change, then saves the
//     world before the lock is released. An action is saved when it starts, not at exit.
//   - Saves are atomic: a temporary file in the same directory, synced, renamed over the
//     state file. Readers therefore never need the lock.
//   - Before the reads that begin a tick or a plan, the store takes in a state file changed
//     by another process, so a running console shows a CLI's promote on its next tick.
//
// The simulated world evolves deterministically from its state and the clock, so taking in
// another process's save loses nothing this process computed. A read-only run never writes.
type demoStore struct {
	path     string
	readOnly bool
	lock     *flock.Flock
	// world is the demo's accounts (staging's and production's), saved together in one
	// state file.
	world *sim.Partition
	now   func() time.Time // the demo's clock

	mu   sync.Mutex // serialises this process's changes and syncs
	seen os.FileInfo
}

// openDemoStore checks the state file's path and loads the fleet from it, or seeds a new one
// (reset, or no file yet). A path that exists and is not a regular file, or (when named with
// --demo-state) not a demo state, is refused; a default state file that cannot be read is
// kept beside the new one, and warn names it.
func openDemoStore(path string, explicit, reset, readOnly bool, clock func(time.Time) sim.Clock, warn io.Writer) (*demoStore, error) {
	s := &demoStore{path: path, readOnly: readOnly, lock: flock.New(path+".lock", flock.SetPermissions(0o600))}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fi = nil
	case err != nil:
		return nil, fail(exitError, "read the demo state %s: %v", path, err)
	case fi.Mode()&os.ModeSymlink != 0:
		return nil, fail(exitError, "the demo state %s is a symbolic link; name the file itself (--demo-state), so that nothing else is overwritten", path)
	case !fi.Mode().IsRegular():
		return nil, fail(exitError, "the demo state %s is not a regular file (%s); name a new file or an existing demo state with --demo-state", path, fi.Mode().Type())
	}
	if fi != nil && !reset {
		world, err := loadDemo(path)
		if err == nil {
			start := time.Now()
			if world.Now().After(start) {
				start = world.Now()
			}
			c := clock(start)
			world.SetClock(c)
			s.world, s.seen, s.now = world, fi, c.Now
			return s, nil
		}
		if explicit {
			return nil, fail(exitError, "%s is not a demo state file (%v); name a new file, or an existing demo state, with --demo-state", path, err)
		}
		if !readOnly {
			aside := path + ".corrupt-" + strconv.FormatInt(time.Now().Unix(), 10)
			if rerr := os.Rename(path, aside); rerr != nil {
				return nil, fail(exitError, "the demo state %s is unreadable (%v) and could not be moved aside: %v", path, err, rerr)
			}
			fmt.Fprintf(warn, "adstage-ops: the demo state %s was unreadable (%v); it is kept as %s and a fresh demo fleet starts\n", path, err, aside)
		} else {
			fmt.Fprintf(warn, "adstage-ops: the demo state %s is unreadable (%v); showing a fresh demo fleet (read-only: nothing is written)\n", path, err)
		}
	}
	c := clock(time.Now())
	s.world, s.now = sim.NewDemoAccounts(c), c.Now
	if !readOnly {
		if err := s.replace(); err != nil {
			return nil, fail(exitError, "save the demo state: %v", err)
		}
	}
	return s, nil
}

// loadDemo reads a demo state: both accounts, or (saved by an older adstage-ops) one
// account holding every environment, which then runs as it was.
func loadDemo(path string) (*sim.Partition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sim.LoadPartition(f, nil)
}

// syncIn takes in the state file when another process saved it since this one last read or
// wrote it.
func (s *demoStore) syncIn() error {
	fi, err := os.Stat(s.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	if s.seen != nil && os.SameFile(fi, s.seen) && fi.ModTime().Equal(s.seen.ModTime()) && fi.Size() == s.seen.Size() {
		return nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	// The file opened may be newer than the one stat saw; either is a whole save.
	fi, err = f.Stat()
	if err != nil {
		return err
	}
	if err := s.world.Restore(f); err != nil {
		return err
	}
	s.seen = fi
	return nil
}

// sync takes in another process's changes before a read.
func (s *demoStore) sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.syncIn() // an unreadable file mid-replace: the next read tries again
}

// change runs one mutating call with the state file locked, and saves the world after it.
func (s *demoStore) change(fn func() error) error {
	if s.readOnly {
		return fn() // the read-only guard refuses it anyway; nothing is written
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("demo state: %w", err)
	}
	if err := s.lock.Lock(); err != nil {
		return fmt.Errorf("demo state: lock %s: %w", s.lock.Path(), err)
	}
	defer s.lock.Unlock()
	if err := s.syncIn(); err != nil {
		return fmt.Errorf("demo state: take in %s: %w", s.path, err)
	}
	ferr := fn()
	if err := s.save(); err != nil {
		return errors.Join(ferr, fmt.Errorf("demo state: save %s: %w", s.path, err))
	}
	return ferr
}

// replace saves a new world over whatever the state file held (a reset, or a first run).
func (s *demoStore) replace() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	if err := s.lock.Lock(); err != nil {
		return err
	}
	defer s.lock.Unlock()
	return s.save()
}

// save writes the world atomically (temporary file, sync, rename). The lock is held.
func (s *demoStore) save() error {
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := s.world.Save(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return err
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	s.seen = fi
	return nil
}

// close saves the world at exit (time has moved on), after taking in other changes.
func (s *demoStore) close() error {
	return s.change(func() error { return nil })
}

// clients are the first account's (staging's) clients: see clientsOf.
func (s *demoStore) clients() awsapi.Clients {
	return s.clientsOf(s.world.Clouds()[0])
}

// clientsOf are the simulator's clients of one account with every mutating call run
// through change, and the calls that begin a tick or a plan preceded by sync.
func (s *demoStore) clientsOf(cloud *sim.Cloud) awsapi.Clients {
	c := cloud.Clients()
	e := demoEC2{EC2API: c.EC2, images: c.Images, s: s}
	c.AutoScaling = demoAutoScaling{c.AutoScaling, s}
	c.EC2, c.Images = e, e
	return c
}

// call runs a mutating call through the store.
func call[O any](s *demoStore, fn func() (O, error)) (O, error) {
	var out O
	err := s.change(func() error {
		var err error
		out, err = fn()
		return err
	})
	return out, err
}

type demoAutoScaling struct {
	awsapi.AutoScalingAPI
	s *demoStore
}

func (d demoAutoScaling) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, o ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	if in.NextToken == nil {
		d.s.sync()
	}
	return d.AutoScalingAPI.DescribeAutoScalingGroups(ctx, in, o...)
}

func (d demoAutoScaling) UpdateAutoScalingGroup(ctx context.Context, in *autoscaling.UpdateAutoScalingGroupInput, o ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	return call(d.s, func() (*autoscaling.UpdateAutoScalingGroupOutput, error) {
		return d.AutoScalingAPI.UpdateAutoScalingGroup(ctx, in, o...)
	})
}

func (d demoAutoScaling) StartInstanceRefresh(ctx context.Context, in *autoscaling.StartInstanceRefreshInput, o ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error) {
	return call(d.s, func() (*autoscaling.StartInstanceRefreshOutput, error) {
		return d.AutoScalingAPI.StartInstanceRefresh(ctx, in, o...)
	})
}

func (d demoAutoScaling) RollbackInstanceRefresh(ctx context.Context, in *autoscaling.RollbackInstanceRefreshInput, o ...func(*autoscaling.Options)) (*autoscaling.RollbackInstanceRefreshOutput, error) {
	return call(d.s, func() (*autoscaling.RollbackInstanceRefreshOutput, error) {
		return d.AutoScalingAPI.RollbackInstanceRefresh(ctx, in, o...)
	})
}

func (d demoAutoScaling) CancelInstanceRefresh(ctx context.Context, in *autoscaling.CancelInstanceRefreshInput, o ...func(*autoscaling.Options)) (*autoscaling.CancelInstanceRefreshOutput, error) {
	return call(d.s, func() (*autoscaling.CancelInstanceRefreshOutput, error) {
		return d.AutoScalingAPI.CancelInstanceRefresh(ctx, in, o...)
	})
}

type demoEC2 struct {
	awsapi.EC2API
	images awsapi.ImageSharingAPI
	s      *demoStore
}

func (d demoEC2) DescribeImageAttribute(ctx context.Context, in *ec2.DescribeImageAttributeInput, o ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error) {
	d.s.sync()
	return d.images.DescribeImageAttribute(ctx, in, o...)
}

func (d demoEC2) DescribeSnapshotAttribute(ctx context.Context, in *ec2.DescribeSnapshotAttributeInput, o ...func(*ec2.Options)) (*ec2.DescribeSnapshotAttributeOutput, error) {
	return d.images.DescribeSnapshotAttribute(ctx, in, o...)
}

func (d demoEC2) ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, o ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	return call(d.s, func() (*ec2.ModifyImageAttributeOutput, error) { return d.images.ModifyImageAttribute(ctx, in, o...) })
}

func (d demoEC2) ModifySnapshotAttribute(ctx context.Context, in *ec2.ModifySnapshotAttributeInput, o ...func(*ec2.Options)) (*ec2.ModifySnapshotAttributeOutput, error) {
	return call(d.s, func() (*ec2.ModifySnapshotAttributeOutput, error) {
		return d.images.ModifySnapshotAttribute(ctx, in, o...)
	})
}

func (d demoEC2) CopyImage(ctx context.Context, in *ec2.CopyImageInput, o ...func(*ec2.Options)) (*ec2.CopyImageOutput, error) {
	return call(d.s, func() (*ec2.CopyImageOutput, error) { return d.images.CopyImage(ctx, in, o...) })
}

func (d demoEC2) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, o ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	if in.NextToken == nil {
		d.s.sync()
	}
	return d.EC2API.DescribeImages(ctx, in, o...)
}

func (d demoEC2) CreateImage(ctx context.Context, in *ec2.CreateImageInput, o ...func(*ec2.Options)) (*ec2.CreateImageOutput, error) {
	return call(d.s, func() (*ec2.CreateImageOutput, error) { return d.EC2API.CreateImage(ctx, in, o...) })
}

func (d demoEC2) CreateLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput, o ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	return call(d.s, func() (*ec2.CreateLaunchTemplateVersionOutput, error) {
		return d.EC2API.CreateLaunchTemplateVersion(ctx, in, o...)
	})
}

func (d demoEC2) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, o ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	return call(d.s, func() (*ec2.CreateTagsOutput, error) { return d.EC2API.CreateTags(ctx, in, o...) })
}

func (d demoAutoScaling) EnterStandby(ctx context.Context, in *autoscaling.EnterStandbyInput, o ...func(*autoscaling.Options)) (*autoscaling.EnterStandbyOutput, error) {
	return call(d.s, func() (*autoscaling.EnterStandbyOutput, error) { return d.AutoScalingAPI.EnterStandby(ctx, in, o...) })
}

func (d demoAutoScaling) ExitStandby(ctx context.Context, in *autoscaling.ExitStandbyInput, o ...func(*autoscaling.Options)) (*autoscaling.ExitStandbyOutput, error) {
	return call(d.s, func() (*autoscaling.ExitStandbyOutput, error) { return d.AutoScalingAPI.ExitStandby(ctx, in, o...) })
}
