// Package integration_test runs the action layer (inventory, ops, the read-only guard) against a
// real moto server over HTTP. Moto has no instance refresh: those calls go to stand-ins and the
// tests say so in their names. With CI set, a missing moto fails the run.
package integration_test
