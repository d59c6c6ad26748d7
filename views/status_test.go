package views

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

// statusOfThree is a stack of three machines: one running with an idle
// agent, one stopped from inside, one whose price is unknown.
func statusOfThree() *Status {
	since := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	return &Status{
		Region: "eu-west-1", PriceDate: "2024-06-01", PriceSource: "aws.amazon.com/ec2/pricing/on-demand",
		Machines: []MachineStatus{
			{Address: "aws_instance.gpu", State: "running", Type: "g4dn.xlarge", PublicIP: "54.214.3.7", Alias: "gpu-box",
				RunningSince: since, RunningFor: 83 * time.Minute, Hourly: 0.5870, CostSinceStart: 0.812, StoppedMonthly: 10.4,
				Agent:            "idle: idle for 23m of 60m; last activity: kernel busy at 08:02 UTC",
				AgentLog:         []string{"2026-11-30T08:20:00Z idle: idle for 18m of 60m", "2026-11-30T08:25:00Z idle: idle for 23m of 60m"},
				LayersToConverge: []string{"docker"}},
			{Address: "aws_instance.old", State: "stopped", Type: "t2.xlarge", Hourly: 0.2016, StoppedMonthly: 2.64,
				StopReason: "stopped from inside the instance (a shutdown) at 2026-11-30 03:00:00 UTC; EC2: Client.InstanceInitiatedShutdown"},
			{Address: `aws_instance.box["carol"]`, State: "running", Type: "x9.mega", RunningSince: since, RunningFor: 5 * time.Minute,
				PriceUnknown: []string{"price unknown for x9.mega in eu-west-1"}, Problems: []string{"Cannot connect to host over SSH: connection refused"}},
		},
		Hourly: 0.5870, StoppedMonthly: 13.04, Running: 2,
	}
}

// TestStatusViews pins mlops status as people and as -json read it, and
// the empty stack.
func TestStatusViews(t *testing.T) {
	var human bytes.Buffer
	RenderStatus(&human, &Streams{Width: 100}, statusOfThree())
	golden(t, filepath.Join("testdata", "status", "three.txt"), human.String())

	var js bytes.Buffer
	if err := RenderStatusJSON(&js, statusOfThree()); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "status", "three.json"), js.String())

	var empty bytes.Buffer
	RenderStatus(&empty, &Streams{Width: 100}, &Status{Region: "eu-west-1"})
	golden(t, filepath.Join("testdata", "status", "empty.txt"), empty.String())
}
