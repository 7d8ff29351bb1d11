package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Partition is several simulated accounts and regions that see each other's images, as the
// accounts of one AWS partition do: an image shared with an account (ModifyImageAttribute,
// ModifySnapshotAttribute) is described and launched there, and CopyImage copies one into
// another account or region. Its clouds share one lock, so a call in one account reads
// what another shares with it at one instant; each cloud keeps its own clock position,
// throttle buckets, injected failures and denied actions.
//
// AMI and snapshot IDs are unique across the partition (as on AWS): each account draws its
// IDs from its own range of the deterministic sequence.
type Partition struct {
	mu     *sync.Mutex
	clouds []*Cloud
	// envs are the environments each account holds, by account: the demo names them so
	// that a console can read each with its own identity, as a config's environments do.
	envs map[string][]string
}

// partitionState is what Save writes: every cloud's state and the environments.
type partitionState struct {
	Clouds []*State
	Envs   map[string][]string `json:",omitempty"`
}

// seqRange is the share of the ID sequence each account of a partition draws from.
const seqRange = 1 << 40

// NewPartition makes an empty cloud per Options (an account and region each), sharing one
// lock and each other's images.
func NewPartition(clock Clock, accounts ...Options) *Partition {
	p := &Partition{mu: new(sync.Mutex), envs: map[string][]string{}}
	for i, o := range accounts {
		c := New(clock, o)
		c.st.Seq = uint64(i) * seqRange
		p.adopt(c)
	}
	return p
}

func (p *Partition) adopt(c *Cloud) {
	c.mu = p.mu
	c.partition = p
	p.clouds = append(p.clouds, c)
}

// Clouds are the partition's accounts and regions, in the order they were made.
func (p *Partition) Clouds() []*Cloud { return slices.Clone(p.clouds) }

// Cloud is the cloud of an account in a region, nil when the partition has none.
func (p *Partition) Cloud(account, region string) *Cloud {
	for _, c := range p.clouds {
		if c.st.Account == account && c.st.Region == region {
			return c
		}
	}
	return nil
}

// SetEnvs names the environments an account holds.
func (p *Partition) SetEnvs(account string, envs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.envs[account] = slices.Clone(envs)
}

// Envs are the environments an account holds (none named: every one).
func (p *Partition) Envs(account string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.envs[account])
}

// SetClock gives every cloud the clock.
func (p *Partition) SetClock(clock Clock) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clouds {
		c.clock = clock
	}
}

// Now is the latest simulated time a cloud has been advanced to.
func (p *Partition) Now() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var now time.Time
	for _, c := range p.clouds {
		if c.st.Now.After(now) {
			now = c.st.Now
		}
	}
	return now
}

// BootTime is the first cloud's (the demo's clouds agree).
func (p *Partition) BootTime() time.Duration { return p.clouds[0].BootTime() }

// Save writes every cloud's world and the environments as JSON, for LoadPartition.
func (p *Partition) Save(w io.Writer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := partitionState{Envs: p.envs}
	for _, c := range p.clouds {
		c.advance()
		st.Clouds = append(st.Clouds, c.st)
	}
	if err := json.NewEncoder(w).Encode(st); err != nil {
		return fmt.Errorf("save simulated partition: %w", err)
	}
	return nil
}

// decodePartition reads a partition's save, or a single cloud's (Cloud.Save: a partition of
// one account).
func decodePartition(r io.Reader) (partitionState, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return partitionState{}, err
	}
	var st partitionState
	if err := json.Unmarshal(raw, &st); err != nil {
		return partitionState{}, err
	}
	if len(st.Clouds) == 0 {
		var one State
		if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&one); err != nil {
			return partitionState{}, err
		}
		st.Clouds = []*State{&one}
	}
	seen := map[string]bool{}
	for _, c := range st.Clouds {
		if c == nil {
			return partitionState{}, fmt.Errorf("an empty account in the saved state")
		}
		if err := c.validate(); err != nil {
			return partitionState{}, err
		}
		if k := c.Account + "/" + c.Region; seen[k] {
			return partitionState{}, fmt.Errorf("account %s in %s is saved twice", c.Account, c.Region)
		} else {
			seen[k] = true
		}
		if c.BootTime <= 0 {
			c.BootTime = 15 * time.Second
		}
	}
	return st, nil
}

// LoadPartition reads what Partition.Save (or Cloud.Save) wrote and advances every cloud to
// clock.Now() (a nil clock keeps the saved times until SetClock).
func LoadPartition(r io.Reader, clock Clock) (*Partition, error) {
	st, err := decodePartition(r)
	if err != nil {
		return nil, fmt.Errorf("load simulated partition: %w", err)
	}
	p := &Partition{mu: new(sync.Mutex), envs: st.Envs}
	if p.envs == nil {
		p.envs = map[string][]string{}
	}
	for _, s := range st.Clouds {
		c := newCloud(clock, Options{Account: s.Account, Region: s.Region, BootTime: s.BootTime}, s)
		for _, g := range s.Groups {
			g.Busy = true // recomputed on the next step
		}
		p.adopt(c)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clouds {
		c.advance()
	}
	return p, nil
}

// Restore replaces every cloud's world by the one Save wrote (another process sharing the
// state file), keeping the clocks, injected failures and counters. The saved partition must
// hold the same accounts and regions.
func (p *Partition) Restore(r io.Reader) error {
	st, err := decodePartition(r)
	if err != nil {
		return fmt.Errorf("restore simulated partition: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(st.Clouds) != len(p.clouds) {
		return fmt.Errorf("restore simulated partition: the saved partition has %d accounts, not %d", len(st.Clouds), len(p.clouds))
	}
	for i, s := range st.Clouds {
		if c := p.clouds[i]; s.Account != c.st.Account || s.Region != c.st.Region {
			return fmt.Errorf("restore simulated partition: the saved world is account %s in %s, not %s in %s", s.Account, s.Region, c.st.Account, c.st.Region)
		}
	}
	for i, s := range st.Clouds {
		p.clouds[i].replace(s)
	}
	if st.Envs != nil {
		p.envs = st.Envs
	}
	return nil
}

// replace puts a saved world in place of this one and advances it; c.mu is held.
func (c *Cloud) replace(st *State) {
	if st.BootTime <= 0 {
		st.BootTime = c.st.BootTime
	}
	c.st = st
	c.reindex()
	for _, g := range st.Groups {
		g.Busy = true // recomputed on the next step
	}
	c.advance()
}

// peers are the other clouds of the partition in region; c.mu is held.
func (c *Cloud) peers(region string) []*Cloud {
	if c.partition == nil {
		return nil
	}
	var out []*Cloud
	for _, o := range c.partition.clouds {
		if o != c && o.st.Region == region {
			out = append(out, o)
		}
	}
	return out
}

// grants reports whether a permission list lets account in ("all": everyone).
func grants(perms []string, account string) bool {
	return slices.Contains(perms, account) || slices.Contains(perms, "all")
}

// visibleImage is an image this account can see in its region: its own, or another
// account's that grants it launch permission. owner is the cloud that owns it. c.mu is held.
func (c *Cloud) visibleImage(id string) (img *Image, owner *Cloud) {
	if img := c.images[id]; img != nil {
		return img, c
	}
	for _, o := range c.peers(c.st.Region) {
		if img := o.images[id]; img != nil && grants(img.LaunchPermissions, c.st.Account) {
			return img, o
		}
	}
	return nil, nil
}
