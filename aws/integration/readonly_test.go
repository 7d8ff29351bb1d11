package integration_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
)

// TestMoto_ReadOnly_WritesNeverReachTheWire proves read-only mode at the wire: through the
// clients LoadClients builds for read-only mode, every operation of awsapi.WriteOperations is
// refused with ErrReadOnly, and moto's recorder saw none of them, while every read of
// awsapi.ReadOperations did arrive. The same writes through read-write clients do reach moto, so
// the test can fail.
func TestMoto_ReadOnly_WritesNeverReachTheWire(t *testing.T) {
	ctx := context.Background()
	recorded := awstest.MotoRecording(t)
	_, ro := awstest.MotoClients(t, true)
	roCalls := awstest.OperationCalls(awstest.RawClients(t, ro))

	// Reads first: finding them all in the recording at the end proves nothing recorded after
	// them (the refused writes) was lost to a reset by another test.
	for _, op := range awsapi.ReadOperations {
		if err := roCalls[op.Action()](ctx); errors.Is(err, awsapi.ErrReadOnly) {
			t.Errorf("read %s refused in read-only mode: %v", op, err)
		}
	}
	for _, op := range awsapi.WriteOperations {
		err := roCalls[op.Action()](ctx)
		var roErr *awsapi.ReadOnlyError
		if !errors.As(err, &roErr) || !errors.Is(err, awsapi.ErrReadOnly) {
			t.Errorf("write %s through read-only clients: err = %v, want a ReadOnlyError", op, err)
		} else if roErr.Operation != op.Name || roErr.Service != op.Service {
			t.Errorf("write %s refused as %s:%s", op, roErr.Service, roErr.Operation)
		}
	}
	got := recorded()
	for _, op := range awsapi.ReadOperations {
		if !slices.Contains(got, op.Name) {
			t.Errorf("moto did not record the read %s (recorded %v): is the recorder on (MOTO_ENABLE_RECORDING=True)?", op, got)
		}
	}
	for _, op := range awsapi.WriteOperations {
		if slices.Contains(got, op.Name) {
			t.Errorf("moto recorded %s from read-only clients", op)
		}
	}
	for _, a := range got {
		if !slices.ContainsFunc(awsapi.ReadOperations, func(op awsapi.Operation) bool { return op.Name == a }) {
			t.Errorf("moto recorded %s from read-only clients, which is not a read", a)
		}
	}

	// The control: the same writes through read-write clients reach moto.
	_, rw := awstest.MotoClients(t, false)
	rwCalls := awstest.OperationCalls(awstest.RawClients(t, rw))
	for _, op := range awsapi.WriteOperations {
		if err := rwCalls[op.Action()](ctx); errors.Is(err, awsapi.ErrReadOnly) {
			t.Errorf("write %s refused without read-only: %v", op, err)
		}
	}
	got = recorded()
	for _, op := range awsapi.WriteOperations {
		if !slices.Contains(got, op.Name) {
			t.Errorf("read-write %s never reached moto (recorded %v)", op, got)
		}
	}
}
