package signals

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// ConsoleOutput reads an instance's latest console output (GetConsoleOutput with Latest, for
// the `l` key), decoded from the base64 EC2 returns and made safe for a terminal line by line.
// An instance that has written nothing yet has empty output, which is not an error.
func ConsoleOutput(ctx context.Context, c awsapi.EC2Reader, instanceID string) (model.ConsoleOutput, error) {
	out, err := c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(instanceID), Latest: aws.Bool(true)})
	if err != nil {
		return model.ConsoleOutput{}, fmt.Errorf("read the console output of %s: %w", instanceID, err)
	}
	co := model.ConsoleOutput{InstanceID: instanceID, At: aws.ToTime(out.Timestamp)}
	if enc := aws.ToString(out.Output); enc != "" {
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return model.ConsoleOutput{}, fmt.Errorf("read the console output of %s: not base64: %w", instanceID, err)
		}
		co.Lines = model.ConsoleLines(string(raw))
	}
	return co, nil
}
