package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/gofrs/flock"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// The shared audit log: a team's operators each keep their local log (the source of truth on
// their machine, written first) and also send every event to one CloudWatch Logs group named in
// the config (audit.log_group), one log stream per machine and user. The audit view and the
// `audit` command read the group with FilterLogEvents, so they show every operator's actions,
// not only this machine's.
//
// What is guaranteed:
//   - An event is in the local log before anything is sent; a group that cannot be reached never
//     stops an action (the local write is the one an action waits for).
//   - An event not sent yet is sent later: the local log's byte offset up to which events were
//     accepted by the group is kept in PATH.sent (written atomically, under PATH.sent.lock), and
//     every send starts from it, in this process or the next.
//   - An event sent twice (a send cut short between two batches) is shown once: the group's
//     messages are the local log's lines, byte for byte, and reading de-duplicates by them.
//   - Events AWS will not take are counted, not retried forever: PutLogEvents refuses events
//     older than 14 days or more than 2 hours in the future ("PutLogEvents", CloudWatch Logs
//     API Reference), so those are named as skipped.
//
// The limits it keeps to (PutLogEvents, CloudWatch Logs API Reference): a batch holds at most
// 10,000 events and 1,048,576 bytes (each message's UTF-8 bytes plus 26), spans at most 24
// hours, and is in chronological order.
const (
	maxBatchEvents = 10000
	maxBatchBytes  = 1048576
	eventOverhead  = 26
	maxBatchSpan   = 24 * time.Hour
	maxEventAge    = 14 * 24 * time.Hour
	maxEventAhead  = 2 * time.Hour
	// maxRemoteEvents bounds what the audit view reads from the group (newest kept).
	maxRemoteEvents = 20000
	// remoteWindow is how far back the group is read.
	remoteWindow = 90 * 24 * time.Hour
)

// Shared is a local Log that is also sent to, and read from, a CloudWatch Logs group. It
// implements Sink.
type Shared struct {
	Local  *Log
	Group  string
	Stream string
	// Reader reads the group; Writer sends to it, and is nil in read-only mode (nothing is
	// sent: PutLogEvents and CreateLogStream change AWS).
	Reader awsapi.LogsReader
	Writer awsapi.LogsWriter
	// Timeout bounds each send and each read (default 10 s).
	Timeout time.Duration
	Now     func() time.Time

	mu       sync.Mutex // guards the fields below
	appended bool       // this process appended an event: Close sends
	sending  bool
	again    bool
	done     chan struct{} // closed when the running background send ends
	lastErr  error
	skipped  int
	stream   bool // the stream is known to exist
}

var _ Sink = (*Shared)(nil)

// Path is the local log's file name.
func (s *Shared) Path() string { return s.Local.Path() }

// Append writes the event to the local log, then sends what is unsent in the background. Only
// the local write can fail an Append: an action is never held up by the group.
func (s *Shared) Append(e model.AuditEvent) error {
	if err := s.Local.Append(e); err != nil {
		return err
	}
	if s.Writer != nil {
		s.mu.Lock()
		s.appended = true
		s.mu.Unlock()
		s.kick()
	}
	return nil
}

// kick starts a background send, or asks the running one to go again when it ends.
func (s *Shared) kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sending {
		s.again = true
		return
	}
	s.sending = true
	s.done = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), s.timeout())
			err := s.Flush(ctx)
			cancel()
			s.mu.Lock()
			s.lastErr = err
			if !s.again || err != nil {
				s.sending = false
				s.mu.Unlock()
				return
			}
			s.again = false
			s.mu.Unlock()
		}
	}(s.done)
}

// Close waits for a background send to end, then sends what is still unsent, within ctx: a
// CLI run that appended an event calls it before it exits. A run that appended nothing (a
// `status`, say) sends nothing, so that it never waits on the group; what is left is sent by
// the next action or `audit --send`.
func (s *Shared) Close(ctx context.Context) error {
	s.mu.Lock()
	done, appended := s.done, s.appended
	s.mu.Unlock()
	if s.Writer == nil || !appended {
		return nil
	}
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := s.Flush(ctx)
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
	return err
}

// Appended reports whether this process appended an event (and so tried to send it).
func (s *Shared) Appended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appended
}

func (s *Shared) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Second
}

func (s *Shared) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Flush sends every event of the local log after the sent offset to the group, and moves the
// offset past them once the group has accepted them all.
func (s *Shared) Flush(ctx context.Context) error {
	if s.Writer == nil {
		return nil
	}
	lock := flock.New(s.Local.path+".sent.lock", flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("send the audit log: lock %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()
	offset := s.sentOffset()
	lines, end, err := readFrom(s.Local.path, offset)
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return nil
	}
	batches, skipped := s.batches(lines)
	for _, b := range batches {
		if err := s.put(ctx, b); err != nil {
			return fmt.Errorf("send the audit log to CloudWatch Logs group %s: %s", s.Group, awsapi.Explain(err))
		}
	}
	s.mu.Lock()
	s.skipped += skipped
	s.mu.Unlock()
	return s.saveOffset(end)
}

// put sends one batch, creating the stream the first time.
func (s *Shared) put(ctx context.Context, b []cwltypes.InputLogEvent) error {
	s.mu.Lock()
	known := s.stream
	s.mu.Unlock()
	if !known {
		_, err := s.Writer.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(s.Group), LogStreamName: aws.String(s.Stream)})
		var exists *cwltypes.ResourceAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return err
		}
		s.mu.Lock()
		s.stream = true
		s.mu.Unlock()
	}
	out, err := s.Writer.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(s.Group), LogStreamName: aws.String(s.Stream), LogEvents: b})
	if err != nil {
		var missing *cwltypes.ResourceNotFoundException
		if errors.As(err, &missing) {
			s.mu.Lock()
			s.stream = false // the stream (or the group) was deleted: create it on the next try
			s.mu.Unlock()
		}
		return err
	}
	if r := out.RejectedLogEventsInfo; r != nil {
		n := 0
		for _, idx := range []*int32{r.TooOldLogEventEndIndex, r.ExpiredLogEventEndIndex} {
			if idx != nil {
				n = max(n, int(*idx))
			}
		}
		if r.TooNewLogEventStartIndex != nil {
			n += len(b) - int(*r.TooNewLogEventStartIndex)
		}
		s.mu.Lock()
		s.skipped += n
		s.mu.Unlock()
	}
	return nil
}

// batches orders the lines by time and cuts them into batches PutLogEvents takes; events it
// would refuse for their age are left out and counted.
func (s *Shared) batches(lines []string) ([][]cwltypes.InputLogEvent, int) {
	now := s.now()
	type ev struct {
		at  time.Time
		msg string
	}
	var evs []ev
	skipped := 0
	for _, l := range lines {
		var e model.AuditEvent
		if json.Unmarshal([]byte(l), &e) != nil || e.Action == "" {
			continue // a damaged line: the local reader names it
		}
		at := e.Time
		if e.Finished != nil {
			at = *e.Finished
		}
		if at.Before(now.Add(-maxEventAge+time.Hour)) || at.After(now.Add(maxEventAhead-5*time.Minute)) {
			skipped++
			continue
		}
		evs = append(evs, ev{at, l})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	var out [][]cwltypes.InputLogEvent
	var cur []cwltypes.InputLogEvent
	size := 0
	var first time.Time
	for _, e := range evs {
		n := len(e.msg) + eventOverhead
		if len(cur) > 0 && (len(cur) == maxBatchEvents || size+n > maxBatchBytes || e.at.Sub(first) >= maxBatchSpan) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		if len(cur) == 0 {
			first = e.at
		}
		cur = append(cur, cwltypes.InputLogEvent{Message: aws.String(e.msg), Timestamp: aws.Int64(e.at.UnixMilli())})
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, skipped
}

// sentOffset reads PATH.sent: "GROUP STREAM OFFSET". An offset for another group or stream
// (the config changed) starts from the beginning.
func (s *Shared) sentOffset() int64 {
	b, err := os.ReadFile(s.Local.path + ".sent")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 3 || f[0] != s.Group || f[1] != s.Stream {
		return 0
	}
	n, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	if st, err := os.Stat(s.Local.path); err != nil || st.Size() < n {
		return 0 // the log was replaced by a shorter one
	}
	return n
}

func (s *Shared) saveOffset(n int64) error {
	tmp := s.Local.path + ".sent.tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%s %s %d\n", s.Group, s.Stream, n), 0o600); err != nil {
		return fmt.Errorf("send the audit log: record what was sent: %w", err)
	}
	if err := os.Rename(tmp, s.Local.path+".sent"); err != nil {
		return fmt.Errorf("send the audit log: record what was sent: %w", err)
	}
	return nil
}

// readFrom returns the whole lines of the file from offset, and the offset after the last.
func readFrom(path string, offset int64) ([]string, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("send the audit log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("send the audit log: %w", err)
	}
	r := bufio.NewReader(f)
	var lines []string
	end := offset
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // a line without its newline is being written: the next send takes it
		}
		if err != nil {
			return nil, 0, fmt.Errorf("send the audit log: %w", err)
		}
		end += int64(len(line))
		if t := bytes.TrimSpace(line); len(t) > 0 {
			lines = append(lines, string(t))
		}
	}
	return lines, end, nil
}

// SendState says what is not sent yet and why, for the audit view and the `audit` command: ""
// when everything is sent.
func (s *Shared) SendState() string {
	s.mu.Lock()
	err, skipped := s.lastErr, s.skipped
	s.mu.Unlock()
	var parts []string
	if lines, _, rerr := readFrom(s.Local.path, s.sentOffset()); rerr == nil && len(lines) > 0 {
		what := fmt.Sprintf("%d events of this machine are not in CloudWatch Logs group %s yet", len(lines), s.Group)
		if len(lines) == 1 {
			what = fmt.Sprintf("1 event of this machine is not in CloudWatch Logs group %s yet", s.Group)
		}
		if err != nil {
			what += " (" + err.Error() + ")"
		}
		parts = append(parts, what+"; they stay in the local log and are sent with the next action, or run `adstage-ops audit --send`")
	}
	if skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d events were not sent: CloudWatch Logs takes none older than 14 days or over 2 hours ahead", skipped))
	}
	return strings.Join(parts, "; ")
}

// RemoteError says the group could not be read: the events returned are this machine's only.
type RemoteError struct {
	Group string
	Err   error
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("the shared audit log (CloudWatch Logs group %s) could not be read, so only this machine's actions are shown: %s", e.Group, awsapi.Explain(e.Err))
}

func (e *RemoteError) Unwrap() error { return e.Err }

// Read returns this machine's events and every operator's from the group (the last 90 days,
// at most 20,000 of them), oldest first, each once. A group that cannot be read gives the
// local events with a *RemoteError; a damaged local line a *Damaged (both with errors.Join).
func (s *Shared) Read() ([]model.AuditEvent, error) {
	local, lerr := s.Local.readRaw()
	var errs []error
	if lerr != nil {
		var d *Damaged
		if !errors.As(lerr, &d) {
			return nil, lerr
		}
		errs = append(errs, lerr)
	}
	seen := make(map[string]bool, len(local))
	out := make([]model.AuditEvent, 0, len(local))
	for _, r := range local {
		seen[r.line] = true
		out = append(out, r.event)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout())
	defer cancel()
	remote, rerr := s.readGroup(ctx)
	if rerr != nil {
		errs = append(errs, &RemoteError{Group: s.Group, Err: rerr})
	}
	for _, m := range remote {
		if seen[m] {
			continue
		}
		seen[m] = true
		var e model.AuditEvent
		if json.Unmarshal([]byte(m), &e) != nil || e.Action == "" {
			continue // not an adstage-ops event: another writer's line in the group
		}
		out = append(out, safeEvent(e))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, errors.Join(errs...)
}

// readGroup reads the group's messages, newest pages kept within maxRemoteEvents.
func (s *Shared) readGroup(ctx context.Context) ([]string, error) {
	if s.Reader == nil {
		return nil, nil
	}
	in := &cwl.FilterLogEventsInput{LogGroupName: aws.String(s.Group), StartTime: aws.Int64(s.now().Add(-remoteWindow).UnixMilli())}
	var out []string
	p := cwl.NewFilterLogEventsPaginator(s.Reader, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, err
		}
		for _, e := range page.Events {
			out = append(out, aws.ToString(e.Message))
		}
		if len(out) > maxRemoteEvents {
			out = slices.Clone(out[len(out)-maxRemoteEvents:])
		}
	}
	return out, nil
}
