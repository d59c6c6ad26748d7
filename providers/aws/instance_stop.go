package aws

import (
	"context"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/zclconf/go-cty/cty"
)

// Who stopped an instance. EC2 says it in StateReason (the code) and
// StateTransitionReason (a sentence with the time): a shutdown from inside
// the machine (the idle_stop layer's agent, or a user's `sudo poweroff`) is
// Client.InstanceInitiatedShutdown, a StopInstances call
// Client.UserInitiatedShutdown.
const (
	reasonInstanceInitiated = "Client.InstanceInitiatedShutdown"
	reasonUserInitiated     = "Client.UserInitiatedShutdown"
)

// defaultShutdownBehavior is what mlops asks RunInstances for: a shutdown
// from inside stops the instance (the idle_stop layer relies on it).
const defaultShutdownBehavior = "stop"

// stopReason says who stopped a stopped (or stopping) instance and when, in
// words: "stopped from inside the instance (shutdown) at 2026-11-30 07:00:00
// UTC; EC2: Client.InstanceInitiatedShutdown". It is "" for an instance that
// is not stopped.
func stopReason(inst types.Instance) string {
	s := stateOf(inst)
	if s != stateStopped && s != stateStopping {
		return ""
	}
	code, msg := "", ""
	if inst.StateReason != nil {
		code, msg = deref(inst.StateReason.Code), deref(inst.StateReason.Message)
	}
	when := ""
	if r := deref(inst.StateTransitionReason); r != "" {
		if i, j := strings.LastIndex(r, "("), strings.LastIndex(r, ")"); i >= 0 && j > i {
			when = " at " + r[i+1:j]
		}
	}
	who := "stopped"
	switch code {
	case reasonInstanceInitiated:
		who = "stopped from inside the instance (a shutdown, such as the idle_stop agent's)"
	case reasonUserInitiated:
		who = "stopped through the EC2 API or console"
	}
	out := who + when
	if code != "" {
		out += "; EC2: " + code
		if msg != "" && !strings.HasPrefix(msg, code) {
			out += " " + msg
		}
	}
	return out
}

// shutdownBehavior is the recorded shutdown behaviour: EC2 returns it only
// through one DescribeInstanceAttribute call per instance, which would undo
// the refresh's one call for all instances, so the state keeps what mlops
// set; an instance recorded before mlops set it has EC2's default for
// EBS-backed instances, stop.
func shutdownBehavior(prior cty.Value) cty.Value {
	if v := getString(prior, "shutdown_behavior"); v != "" {
		return cty.StringVal(v)
	}
	return cty.StringVal(defaultShutdownBehavior)
}

// setShutdownBehavior changes the shutdown behaviour of an instance in place.
func setShutdownBehavior(ctx context.Context, c *ec2.Client, id, want string) error {
	_, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId:                        awssdk.String(id),
		InstanceInitiatedShutdownBehavior: &types.AttributeValue{Value: awssdk.String(want)},
	})
	return err
}

// launchTime is EC2's LaunchTime (the last start) in RFC 3339, or null.
func launchTime(inst types.Instance) cty.Value {
	if inst.LaunchTime == nil {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(inst.LaunchTime.UTC().Format(time.RFC3339))
}
