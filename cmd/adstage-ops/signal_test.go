//go:build unix

package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a buffer the command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// SIGTERM (a CI runner cancelling the job) and SIGHUP (the terminal closed) during --wait stop
// following like SIGINT: the rollout goes on in AWS, the CLI says so and exits 128 + the
// signal (143, 129), never 0.
func TestRun_SignalsDuringWait_StopFollowing(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("HOME", dir)
			t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
			t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
			t.Setenv("ADSTAGE_DEMO_SPEED", "1")
			var stdout, stderr syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- run([]string{"--demo", "promote", "--service", "auth", "--env", "production", "--from-env", "staging",
					"--allow-bad-image", "--reason", "signal test", "--yes", "--wait"}, strings.NewReader(""), &stdout, &stderr)
			}()
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(stdout.String(), "started") {
				select {
				case code := <-done:
					t.Fatalf("ended (%d) before the rollout started: %s %s", code, stdout.String(), stderr.String())
				case <-time.After(20 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("the rollout never started: %s %s", stdout.String(), stderr.String())
				}
			}
			if err := syscall.Kill(syscall.Getpid(), tc.sig); err != nil {
				t.Fatal(err)
			}
			code := <-done
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "is running in AWS") || !strings.Contains(stderr.String(), "it goes on in AWS") {
				t.Errorf("stdout %q stderr %q: want the rollout said to go on in AWS", stdout.String(), stderr.String())
			}
		})
	}
}
