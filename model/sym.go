package model

import (
	"strings"
	"sync"
)

// Sym is an interned string: one pointer to a shared copy, 8 bytes where a string takes 16.
// An instance keeps its zone, AMI and launch template version as Syms: a fleet has few of
// each, repeated on every instance. The zero Sym is "". Two Syms are equal when their
// strings are.
//
// The copies live in one process-wide table for the life of the process (target group
// names too: BenchmarkMemoryHeap counts the table as the console's), about 40 bytes
// each besides the string: fine for zones, AMIs and version numbers (a few thousand in an
// account), not for values that are new on every read (instance IDs). The standard
// library's unique package frees unused entries but costs about 180 bytes an entry, more than
// a Sym saves on an AMI that 40 instances share.
type Sym struct{ p *string }

var syms struct {
	mu sync.RWMutex
	m  map[string]*string
}

// ResetSyms empties the table: only for a heap benchmark, in a process that holds no Sym it
// will compare again, so that what it interns is counted (BenchmarkMemoryHeap). A Sym made
// before and one made after with the same string are not equal. The console never calls it.
func ResetSyms() {
	syms.mu.Lock()
	syms.m = nil
	syms.mu.Unlock()
}

// Intern is the Sym of s.
func Intern(s string) Sym {
	if s == "" {
		return Sym{}
	}
	syms.mu.RLock()
	p := syms.m[s]
	syms.mu.RUnlock()
	if p != nil {
		return Sym{p}
	}
	syms.mu.Lock()
	defer syms.mu.Unlock()
	if p := syms.m[s]; p != nil {
		return Sym{p}
	}
	if syms.m == nil {
		syms.m = map[string]*string{}
	}
	p = new(string)
	*p = strings.Clone(s) // not the response it came in
	syms.m[*p] = p
	return Sym{p}
}

// String is the interned string.
func (s Sym) String() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// MarshalText writes the string, so that JSON shows a Sym as its string.
func (s Sym) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a string.
func (s *Sym) UnmarshalText(b []byte) error {
	*s = Intern(string(b))
	return nil
}
