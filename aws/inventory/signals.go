package inventory

import (
	"context"

	"github.com/adstage/adstage-ops/aws/signals"
	"github.com/adstage/adstage-ops/model"
)

// Signals reads the CloudWatch signals of the services (the ones on screen): one
// GetMetricData a minute for all of them and the alarms in ALARM (see package signals for
// the budget). What cannot be read is a warning in each service's signals.
func (inv *Inventory) Signals(ctx context.Context, services []model.Service) (map[model.ServiceKey]model.Signals, error) {
	return inv.signals.Read(ctx, services)
}

// SignalCalls counts the CloudWatch and DescribeTargetGroups calls the signals made.
func (inv *Inventory) SignalCalls() map[string]int { return inv.signals.Calls() }

// ConsoleOutput reads an instance's latest console output.
func (inv *Inventory) ConsoleOutput(ctx context.Context, instanceID string) (model.ConsoleOutput, error) {
	return signals.ConsoleOutput(ctx, inv.c.EC2, instanceID)
}
