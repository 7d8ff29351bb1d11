package model

import (
	"encoding/json"
	"testing"
	"unsafe"
)

func TestSym(t *testing.T) {
	a, b := Intern("us-east-1a"), Intern(string([]byte("us-east-1a")))
	if a != b || a.String() != "us-east-1a" {
		t.Errorf("Intern of equal strings: %v %v", a, b)
	}
	if a == Intern("us-east-1b") {
		t.Error("Syms of different strings are equal")
	}
	if Intern("") != (Sym{}) || (Sym{}).String() != "" {
		t.Error("the zero Sym is not the empty string")
	}
	out, err := json.Marshal(struct{ AZ Sym }{a})
	if err != nil || string(out) != `{"AZ":"us-east-1a"}` {
		t.Errorf("JSON = %s, %v", out, err)
	}
	var back struct{ AZ Sym }
	if err := json.Unmarshal(out, &back); err != nil || back.AZ != a {
		t.Errorf("JSON back = %v, %v", back.AZ, err)
	}
	if n := unsafe.Sizeof(Sym{}); n != 8 {
		t.Errorf("Sym is %d bytes, want 8", n)
	}
}
