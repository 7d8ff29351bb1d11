// Package symtest lets a measurement count model.Sym's process-wide table: the heap
// benchmarks forget the table before and after their run, so that what the console interned
// is counted as the console's, not left behind with what the process keeps anyway.
package symtest

// Reset forgets every interned string of model.Sym (set by package model). Only for a
// benchmark in a process that holds no Sym it will use again: Syms made before and after a
// Reset with the same string are not equal.
var Reset func()
