package sim

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// elbv2Client is the simulated ELBv2 (target group) API.
type elbv2Client struct{ c *Cloud }

func (e *elbv2Client) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	const op = "DescribeTargetHealth"
	c := e.c
	if err := c.begin(svcELBv2, op, "elbv2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	arn := ""
	if in != nil {
		arn = aws.ToString(in.TargetGroupArn)
	}
	tg := c.tgs[arn]
	if tg == nil {
		return nil, apiError(svcELBv2, op, "TargetGroupNotFound", "Target groups '%s' not found", arn)
	}
	delay := time.Duration(tg.DeregistrationDelay) * time.Second
	desc := func(r *Registration) (elbv2types.TargetHealthDescription, bool) {
		h := c.targetHealth(r, tg.Interval, tg.HealthyThreshold, tg.UnhealthyThreshold, delay)
		if h.state == "gone" {
			return elbv2types.TargetHealthDescription{}, false
		}
		d := elbv2types.TargetHealthDescription{
			Target:          &elbv2types.TargetDescription{Id: aws.String(r.InstanceID), Port: aws.Int32(tg.Port)},
			HealthCheckPort: aws.String(strconv.Itoa(int(tg.Port))),
			TargetHealth:    &elbv2types.TargetHealth{State: elbv2types.TargetHealthStateEnum(h.state)},
		}
		if h.reason != "" {
			d.TargetHealth.Reason = elbv2types.TargetHealthReasonEnum(h.reason)
			d.TargetHealth.Description = aws.String(h.desc)
		}
		return d, true
	}
	out := &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: []elbv2types.TargetHealthDescription{}}
	if len(in.Targets) > 0 {
		for _, t := range in.Targets {
			id := aws.ToString(t.Id)
			r := findReg(tg.Targets, id)
			if r != nil {
				if d, ok := desc(r); ok {
					out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, d)
					continue
				}
			}
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbv2types.TargetHealthDescription{
				Target: &elbv2types.TargetDescription{Id: aws.String(id), Port: aws.Int32(tg.Port)},
				TargetHealth: &elbv2types.TargetHealth{State: elbv2types.TargetHealthStateEnumUnused,
					Reason: elbv2types.TargetHealthReasonEnumNotRegistered, Description: aws.String("Target is not registered to the target group")},
			})
		}
		return out, nil
	}
	for _, r := range tg.Targets {
		if d, ok := desc(r); ok {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, d)
		}
	}
	return out, nil
}

func (e *elbv2Client) DescribeTargetGroupAttributes(_ context.Context, in *elbv2.DescribeTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	const op = "DescribeTargetGroupAttributes"
	c := e.c
	if err := c.begin(svcELBv2, op, "elbv2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	arn := ""
	if in != nil {
		arn = aws.ToString(in.TargetGroupArn)
	}
	tg := c.tgs[arn]
	if tg == nil {
		return nil, apiError(svcELBv2, op, "TargetGroupNotFound", "Target groups '%s' not found", arn)
	}
	attr := func(k, v string) elbv2types.TargetGroupAttribute {
		return elbv2types.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(v)}
	}
	return &elbv2.DescribeTargetGroupAttributesOutput{Attributes: []elbv2types.TargetGroupAttribute{
		attr("deregistration_delay.timeout_seconds", strconv.Itoa(int(tg.DeregistrationDelay))),
		attr("deregistration_delay.connection_termination.enabled", "false"),
		attr("load_balancing.algorithm.type", "round_robin"),
		attr("slow_start.duration_seconds", "0"),
		attr("stickiness.enabled", "false"),
		attr("stickiness.type", "lb_cookie"),
		attr("stickiness.lb_cookie.duration_seconds", "86400"),
	}}, nil
}

func (e *elbv2Client) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	const op = "DescribeTargetGroups"
	c := e.c
	if err := c.begin(svcELBv2, op, "elbv2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil {
		in = &elbv2.DescribeTargetGroupsInput{}
	}
	limit, ok := pageSize(in.PageSize, 400, 400)
	if !ok {
		return nil, apiError(svcELBv2, op, "ValidationError", "Page size must be between 1 and 400")
	}
	var list []*TargetGroup
	switch {
	case len(in.TargetGroupArns) > 0:
		for _, arn := range in.TargetGroupArns {
			tg := c.tgs[arn]
			if tg == nil {
				return nil, apiError(svcELBv2, op, "TargetGroupNotFound", "Target groups '%s' not found", arn)
			}
			list = append(list, tg)
		}
	case len(in.Names) > 0:
		for _, n := range in.Names {
			found := c.tgNames[n]
			if found == nil {
				return nil, apiError(svcELBv2, op, "TargetGroupNotFound", "One or more target groups not found")
			}
			list = append(list, found)
		}
	default:
		for _, tg := range c.st.TargetGroups {
			if lb := aws.ToString(in.LoadBalancerArn); lb == "" || lb == tg.LoadBalancerARN {
				list = append(list, tg)
			}
		}
	}
	pg, next, ok := paginate(list, in.Marker, limit)
	if !ok {
		return nil, apiError(svcELBv2, op, "ValidationError", "Invalid marker")
	}
	out := &elbv2.DescribeTargetGroupsOutput{NextMarker: next, TargetGroups: make([]elbv2types.TargetGroup, 0, len(pg))}
	for _, tg := range pg {
		o := elbv2types.TargetGroup{
			TargetGroupArn: aws.String(tg.ARN), TargetGroupName: aws.String(tg.Name),
			Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(tg.Port), VpcId: aws.String("vpc-0sim"),
			TargetType: elbv2types.TargetTypeEnumInstance, HealthCheckEnabled: aws.Bool(true),
			HealthCheckProtocol: elbv2types.ProtocolEnumHttp, HealthCheckPort: aws.String("traffic-port"), HealthCheckPath: aws.String("/health"),
			HealthCheckIntervalSeconds: aws.Int32(tg.Interval), HealthCheckTimeoutSeconds: aws.Int32(2),
			HealthyThresholdCount: aws.Int32(tg.HealthyThreshold), UnhealthyThresholdCount: aws.Int32(tg.UnhealthyThreshold),
			Matcher: &elbv2types.Matcher{HttpCode: aws.String("200")}, IpAddressType: elbv2types.TargetGroupIpAddressTypeEnumIpv4,
			ProtocolVersion: aws.String("HTTP1"),
		}
		if tg.LoadBalancerARN != "" {
			o.LoadBalancerArns = []string{tg.LoadBalancerARN}
		}
		out.TargetGroups = append(out.TargetGroups, o)
	}
	return out, nil
}

// elbClient is the simulated classic ELB API.
type elbClient struct{ c *Cloud }

func (e *elbClient) DescribeInstanceHealth(_ context.Context, in *elb.DescribeInstanceHealthInput, _ ...func(*elb.Options)) (*elb.DescribeInstanceHealthOutput, error) {
	const op = "DescribeInstanceHealth"
	c := e.c
	if err := c.begin(svcELB, op, "elb-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	name := ""
	if in != nil {
		name = aws.ToString(in.LoadBalancerName)
	}
	lb := c.elbs[name]
	if lb == nil {
		return nil, apiError(svcELB, op, "LoadBalancerNotFound", "There is no ACTIVE Load Balancer named '%s'", name)
	}
	// Classic ELBs report OutOfService with a description instead of target states; the
	// descriptions are AWS's.
	state := func(r *Registration) (elbtypes.InstanceState, bool) {
		h := c.targetHealth(r, lb.Interval, lb.HealthyThreshold, lb.UnhealthyThreshold, lb.drainDelay())
		s := elbtypes.InstanceState{InstanceId: aws.String(r.InstanceID)}
		switch h.state {
		case "gone":
			return s, false
		case "healthy":
			s.State, s.ReasonCode, s.Description = aws.String("InService"), aws.String("N/A"), aws.String("N/A")
		case "unhealthy":
			s.State, s.ReasonCode, s.Description = aws.String("OutOfService"), aws.String("Instance"), aws.String("Instance has failed at least the UnhealthyThreshold number of health checks consecutively.")
		case "draining":
			s.State, s.ReasonCode, s.Description = aws.String("OutOfService"), aws.String("ELB"), aws.String("Instance deregistration currently in progress.")
		default:
			if h.reason == "Elb.RegistrationInProgress" {
				s.State, s.ReasonCode, s.Description = aws.String("OutOfService"), aws.String("ELB"), aws.String("Instance registration is still in progress.")
			} else {
				s.State, s.ReasonCode, s.Description = aws.String("OutOfService"), aws.String("Instance"), aws.String("Instance has not passed the configured HealthyThreshold number of health checks consecutively.")
			}
		}
		return s, true
	}
	out := &elb.DescribeInstanceHealthOutput{InstanceStates: []elbtypes.InstanceState{}}
	if in != nil && len(in.Instances) > 0 {
		for _, i := range in.Instances {
			id := aws.ToString(i.InstanceId)
			if r := findReg(lb.Instances, id); r != nil {
				if s, ok := state(r); ok {
					out.InstanceStates = append(out.InstanceStates, s)
					continue
				}
			}
			return nil, apiError(svcELB, op, "InvalidInstance", "Could not find EC2 instance %s.", id)
		}
		return out, nil
	}
	for _, r := range lb.Instances {
		if s, ok := state(r); ok {
			out.InstanceStates = append(out.InstanceStates, s)
		}
	}
	return out, nil
}

func (e *elbClient) DescribeLoadBalancerAttributes(_ context.Context, in *elb.DescribeLoadBalancerAttributesInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancerAttributesOutput, error) {
	const op = "DescribeLoadBalancerAttributes"
	c := e.c
	if err := c.begin(svcELB, op, "elb-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	name := ""
	if in != nil {
		name = aws.ToString(in.LoadBalancerName)
	}
	lb := c.elbs[name]
	if lb == nil {
		return nil, apiError(svcELB, op, "LoadBalancerNotFound", "There is no ACTIVE Load Balancer named '%s'", name)
	}
	return &elb.DescribeLoadBalancerAttributesOutput{LoadBalancerAttributes: &elbtypes.LoadBalancerAttributes{
		ConnectionDraining:     &elbtypes.ConnectionDraining{Enabled: lb.DrainingEnabled, Timeout: aws.Int32(lb.DrainingTimeout)},
		CrossZoneLoadBalancing: &elbtypes.CrossZoneLoadBalancing{Enabled: true},
		ConnectionSettings:     &elbtypes.ConnectionSettings{IdleTimeout: aws.Int32(60)},
		AccessLog:              &elbtypes.AccessLog{Enabled: false},
	}}, nil
}

func (e *elbClient) DescribeLoadBalancers(_ context.Context, in *elb.DescribeLoadBalancersInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	const op = "DescribeLoadBalancers"
	c := e.c
	if err := c.begin(svcELB, op, "elb-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil {
		in = &elb.DescribeLoadBalancersInput{}
	}
	limit, ok := pageSize(in.PageSize, 400, 400)
	if !ok {
		return nil, apiError(svcELB, op, "ValidationError", "Page size must be between 1 and 400")
	}
	var list []*ClassicELB
	if len(in.LoadBalancerNames) > 0 {
		for _, n := range in.LoadBalancerNames {
			lb := c.elbs[n]
			if lb == nil {
				return nil, apiError(svcELB, op, "LoadBalancerNotFound", "There is no ACTIVE Load Balancer named '%s'", n)
			}
			list = append(list, lb)
		}
	} else {
		list = c.st.ClassicELBs
	}
	pg, next, ok := paginate(list, in.Marker, limit)
	if !ok {
		return nil, apiError(svcELB, op, "ValidationError", "Invalid marker")
	}
	out := &elb.DescribeLoadBalancersOutput{NextMarker: next, LoadBalancerDescriptions: make([]elbtypes.LoadBalancerDescription, 0, len(pg))}
	for _, lb := range pg {
		d := elbtypes.LoadBalancerDescription{
			LoadBalancerName: aws.String(lb.Name), Scheme: aws.String("internet-facing"),
			DNSName: aws.String(fmt.Sprintf("%s-123456789.%s.elb.amazonaws.com", lb.Name, c.st.Region)),
			HealthCheck: &elbtypes.HealthCheck{Target: aws.String("HTTP:80/health"), Interval: aws.Int32(lb.Interval), Timeout: aws.Int32(2),
				HealthyThreshold: aws.Int32(lb.HealthyThreshold), UnhealthyThreshold: aws.Int32(lb.UnhealthyThreshold)},
			ListenerDescriptions: []elbtypes.ListenerDescription{{Listener: &elbtypes.Listener{Protocol: aws.String("HTTP"), LoadBalancerPort: 80, InstanceProtocol: aws.String("HTTP"), InstancePort: aws.Int32(80)}}},
		}
		for _, r := range lb.Instances {
			d.Instances = append(d.Instances, elbtypes.Instance{InstanceId: aws.String(r.InstanceID)})
		}
		out.LoadBalancerDescriptions = append(out.LoadBalancerDescriptions, d)
	}
	return out, nil
}

// stsClient is the simulated STS API.
type stsClient struct{ c *Cloud }

func (s *stsClient) GetCallerIdentity(_ context.Context, _ *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	c := s.c
	// STS is not throttled in the sim (its limits are far above a console's needs).
	if err := c.begin(svcSTS, "GetCallerIdentity", ""); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	return &sts.GetCallerIdentityOutput{Account: aws.String(c.st.Account), Arn: aws.String(c.st.Caller), UserId: aws.String("AIDASIMULATEDOPERATOR")}, nil
}
