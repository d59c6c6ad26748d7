package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/internal/testworld"
	"github.com/mlops-dev/mlops/state"
)

// The tests in this file kill `mlops apply` with SIGKILL at exact moments,
// chosen by a proxy between mlops and moto (testworld.FaultProxy): right
// before a request reaches moto, or right after moto carried it out but
// before mlops hears the answer. Then they run apply again and check, through
// the EC2 API, that exactly the desired objects exist (none twice, none
// orphaned), that the state was loadable at every moment, and that the
// recovered stack plans no change.

// victim is an mlops run that a proxy hook can kill.
type victim struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    bytes.Buffer
	exited chan struct{}

	mu     sync.Mutex
	killed string // the moment it was killed at, "" while alive
}

// startVictim starts mlops with args in the stack's directory, its AWS
// traffic going through p, and kills it at the first exchange for which
// before (request not forwarded) or after (moto answered, mlops not yet)
// returns true. Either may be nil.
func (s *stack) startVictim(p *testworld.FaultProxy, before, after func(testworld.Exchange) bool, extraEnv []string, args ...string) *victim {
	s.t.Helper()
	v := s.newVictim(p, extraEnv, args...)
	v.start(p, before, after)
	return v
}

// newVictim prepares the run; start starts it.
func (s *stack) newVictim(p *testworld.FaultProxy, extraEnv []string, args ...string) *victim {
	v := &victim{t: s.t, exited: make(chan struct{})}
	v.cmd = exec.Command(binary, args...)
	v.cmd.Dir = s.dir
	v.cmd.Env = append(append(append([]string{}, s.env...), "AWS_ENDPOINT_URL="+p.URL()), extraEnv...)
	v.cmd.Stdout, v.cmd.Stderr = &v.out, &v.out
	return v
}

// start installs the kill hooks on p and starts the run.
func (v *victim) start(p *testworld.FaultProxy, before, after func(testworld.Exchange) bool) {
	v.t.Helper()
	hook := func(pred func(testworld.Exchange) bool, where string) func(testworld.Exchange) testworld.Verdict {
		return func(x testworld.Exchange) testworld.Verdict {
			if v.dead() {
				return testworld.Drop
			}
			if pred == nil || !pred(x) {
				return testworld.Pass
			}
			v.kill(fmt.Sprintf("%s request %d (%s #%d)", where, x.Index, x.Action, x.Nth))
			return testworld.Drop
		}
	}
	p.BeforeForward(hook(before, "before"))
	p.AfterResponse(hook(after, "after"))
	if err := v.cmd.Start(); err != nil {
		v.t.Fatal(err)
	}
	go func() {
		_ = v.cmd.Wait()
		close(v.exited)
	}()
}

func (v *victim) dead() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.killed != ""
}

// kill sends SIGKILL and waits until the process is gone, so that nothing
// it would do after the moment can happen.
func (v *victim) kill(moment string) {
	v.mu.Lock()
	if v.killed == "" {
		v.killed = moment
		_ = v.cmd.Process.Kill()
	}
	v.mu.Unlock()
	<-v.exited
}

// wait waits for the run to end (killed or not) and returns the moment it
// was killed at, "" when it ran to its end.
func (v *victim) wait() string {
	v.t.Helper()
	select {
	case <-v.exited:
	case <-time.After(60 * time.Second):
		_ = v.cmd.Process.Kill()
		<-v.exited
		v.t.Fatalf("mlops did not finish within 60s:\n%s", v.out.String())
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.killed
}

// loadableState fails the test unless the local state file is absent or
// decodes; it returns the state (nil when absent).
func (s *stack) loadableState(when string) *state.State {
	s.t.Helper()
	b, err := os.ReadFile(s.statePath())
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	st, err := state.Decode(b)
	if err != nil {
		s.t.Fatalf("%s: the state file does not load: %v\n%s", when, err, b)
	}
	return st
}

// objects are the EC2 objects that exist in moto, by kind, as "id" with the
// mlops:address tag.
type objects struct {
	instances, groups, keyPairs map[string]string // id -> mlops:address
	stacks                      map[string]bool   // mlops:stack tags seen
}

func (s *stack) objects() objects {
	s.t.Helper()
	ctx := context.Background()
	o := objects{instances: map[string]string{}, groups: map[string]string{}, keyPairs: map[string]string{}, stacks: map[string]bool{}}
	for _, i := range s.liveInstances() {
		o.instances[awssdk.ToString(i.InstanceId)] = tag(i.Tags, "mlops:address")
		o.stacks[tag(i.Tags, "mlops:stack")] = true
	}
	sgs, err := s.ec2().DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		s.t.Fatal(err)
	}
	for _, g := range sgs.SecurityGroups {
		if awssdk.ToString(g.GroupName) == "default" {
			continue
		}
		o.groups[awssdk.ToString(g.GroupId)] = tag(g.Tags, "mlops:address")
		o.stacks[tag(g.Tags, "mlops:stack")] = true
	}
	kps, err := s.ec2().DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})
	if err != nil {
		s.t.Fatal(err)
	}
	for _, k := range kps.KeyPairs {
		o.keyPairs[awssdk.ToString(k.KeyName)] = tag(k.Tags, "mlops:address")
		o.stacks[tag(k.Tags, "mlops:stack")] = true
	}
	return o
}

// checkExactly fails the test unless moto holds exactly the objects that st
// records for the wanted addresses: one object per address, with the
// stack's tags, and nothing else (no duplicate, no orphan).
func (s *stack) checkExactly(st *state.State, want ...string) {
	s.t.Helper()
	o := s.objects()
	recorded := map[string]string{} // id -> address
	for _, r := range st.Resources {
		if r.Mode == state.ModeManaged {
			recorded[r.ID] = r.Address
		}
	}
	var got []string
	for kind, m := range map[string]map[string]string{"instance": o.instances, "security group": o.groups, "key pair": o.keyPairs} {
		for id, addr := range m {
			got = append(got, addr)
			if recorded[id] != addr {
				s.t.Errorf("%s %s (tagged %q) is not recorded in the state at that address: orphan or duplicate", kind, id, addr)
			}
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		s.t.Errorf("objects in EC2 = %v, want exactly %v", got, want)
	}
	if len(o.stacks) > 0 && (len(o.stacks) != 1 || !o.stacks[st.Lineage]) {
		s.t.Errorf("objects tagged for stacks %v, want only the state's lineage %s", o.stacks, st.Lineage)
	}
}

// crashMoment is a moment to kill apply at.
type crashMoment struct {
	name string
	// hooks returns fresh predicates for one run (they may keep state).
	hooks func() (before, after func(testworld.Exchange) bool)
}

func action(name string) func(testworld.Exchange) bool {
	return func(x testworld.Exchange) bool { return x.Action == name }
}

// afterRun matches the first request of name that follows a RunInstances
// answer: the wait for the instance to be running.
func afterRun(name string) func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
	return func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
		var mu sync.Mutex
		ran := false
		seen := func(x testworld.Exchange) bool {
			mu.Lock()
			defer mu.Unlock()
			if x.Action == "RunInstances" {
				ran = true
				return false
			}
			return ran && x.Action == name
		}
		return seen, nil
	}
}

var coreAddrs = []string{"aws_instance.mlops_zoomcamp", "aws_key_pair.razer", "aws_security_group.ssh"}

// crashThenRecover kills one apply at m, checks the state on disk, applies
// again and checks reality. It returns the moment the kill happened at.
func crashThenRecover(t *testing.T, config string, m crashMoment, want []string, applyArgs ...string) string {
	t.Helper()
	s := newStack(t, map[string]string{"main.hcl": config})
	p := testworld.StartFaultProxy(t, s.endpoint())
	before, after := m.hooks()
	v := s.startVictim(p, before, after, nil, append([]string{"apply", "-auto-approve"}, applyArgs...)...)
	killed := v.wait()
	if killed == "" {
		t.Fatalf("%s: the moment never came; apply ran to its end:\n%s", m.name, v.out.String())
	}
	s.loadableState("after the kill " + killed)
	r := s.run("apply", "-auto-approve")
	if r.code != 0 {
		t.Fatalf("%s (killed %s): apply after the crash: %s", m.name, killed, r)
	}
	st := s.loadableState("after recovery")
	if st == nil {
		t.Fatalf("%s: no state after recovery", m.name)
	}
	s.checkExactly(st, want...)
	if len(st.Outputs) == 0 {
		t.Errorf("%s: no outputs recorded after recovery", m.name)
	}
	if r := s.run("plan", "-detailed-exitcode"); r.code != 0 {
		t.Errorf("%s: plan after recovery is not empty: %s", m.name, r)
	}
	return killed
}

// TestCrashAtNamedMoments kills apply at the moments that matter for
// adoption, then recovers.
func TestCrashAtNamedMoments(t *testing.T) {
	moments := []crashMoment{
		{"before RunInstances reaches moto", func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
			return action("RunInstances"), nil
		}},
		{"after moto answered RunInstances", func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
			return nil, action("RunInstances")
		}},
		{"during the wait for running (poll not sent)", afterRun("DescribeInstances")},
		{"during the wait for running (poll answered)", func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
			b, _ := afterRun("DescribeInstances")()
			return nil, b
		}},
		{"after CreateSecurityGroup answered", func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
			return nil, action("CreateSecurityGroup")
		}},
		{"after ImportKeyPair answered", func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
			return nil, action("ImportKeyPair")
		}},
		{"after the last API answer (DescribeVolumes)", func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
			return nil, action("DescribeVolumes")
		}},
	}
	for _, m := range moments {
		t.Run(strings.ReplaceAll(m.name, " ", "_"), func(t *testing.T) {
			killed := crashThenRecover(t, coreConfig, m, coreAddrs)
			t.Logf("killed %s", killed)
		})
	}
}

// instanceOnlyConfig is a stack whose first object is the instance: no
// state is written before RunInstances, so the lineage that tags it must
// already be durable, or a crash right after RunInstances orphans it.
const instanceOnlyConfig = `
provider "aws" { region = "eu-west-1" }
data "aws_ami" "ubuntu" {
  owners = ["099720109477"]
  name   = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
}
resource "aws_instance" "solo" {
  ami           = data.aws_ami.ubuntu.id
  instance_type = "t3.micro"
}
output "id" { value = aws_instance.solo.id }
`

func TestCrashAfterRunInstancesIsFirstObject(t *testing.T) {
	for _, m := range []crashMoment{
		{"after moto answered RunInstances", func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
			return nil, action("RunInstances")
		}},
		{"before RunInstances reaches moto", func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
			return action("RunInstances"), nil
		}},
	} {
		t.Run(strings.ReplaceAll(m.name, " ", "_"), func(t *testing.T) {
			crashThenRecover(t, instanceOnlyConfig, m, []string{"aws_instance.solo"})
		})
	}
}

// TestCrashSweep kills apply before every request of a sequential apply
// (-parallelism=1) and after every answer, then recovers each time.
func TestCrashSweep(t *testing.T) {
	// A clean run counts the requests.
	s := newStack(t, map[string]string{"main.hcl": coreConfig})
	p := testworld.StartFaultProxy(t, s.endpoint())
	r := s.runEnv([]string{"AWS_ENDPOINT_URL=" + p.URL()}, "apply", "-auto-approve", "-parallelism=1")
	if r.code != 0 {
		t.Fatal(r)
	}
	n := len(p.Log())
	var seq []string
	for _, x := range p.Log() {
		seq = append(seq, x.Action)
	}
	t.Logf("a clean apply sends %d requests: %s", n, strings.Join(seq, " "))
	if n < 10 {
		t.Fatalf("only %d requests in an apply; the sweep would miss moments", n)
	}
	start := time.Now()
	for i := 1; i <= n; i++ {
		for _, when := range []string{"before", "after"} {
			m := crashMoment{name: fmt.Sprintf("%s request %d", when, i), hooks: func() (func(testworld.Exchange) bool, func(testworld.Exchange) bool) {
				at := func(x testworld.Exchange) bool { return x.Index == i }
				if when == "before" {
					return at, nil
				}
				return nil, at
			}}
			t.Run(fmt.Sprintf("%s_%02d", when, i), func(t *testing.T) {
				crashThenRecover(t, coreConfig, m, coreAddrs, "-parallelism=1")
			})
		}
	}
	t.Logf("%d kills and recoveries in %v", 2*n, time.Since(start).Round(time.Millisecond))
}

// TestCrashDuringLayer kills apply while a shell layer runs on a sandbox
// host; the next apply finishes the layer on the same instance.
func TestCrashDuringLayer(t *testing.T) {
	h := testworld.StartHost(t)
	layer := `
  layer "shell" {
    name  = "slow"
    check = "test -f ~/slow-done"
    run   = "touch ~/slow-started && sleep 2 && touch ~/slow-done"
  }
`
	s := layerStack(t, h.KeyFile, h.Addr, h.Port, machineConfig("", layer, ""))
	started := filepath.Join(h.Root, "home", "ubuntu", "slow-started")
	v := s.startVictim(testworld.StartFaultProxy(t, s.endpoint()), nil, nil, nil, "apply", "-auto-approve")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			v.kill("while layer slow runs")
			break
		}
		select {
		case <-v.exited:
			t.Fatalf("apply ended before the layer started:\n%s", v.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the layer did not start within 30s:\n%s", v.out.String())
		}
	}
	if st := s.loadableState("killed during a layer"); st == nil || st.Resource("aws_instance.dev") == nil {
		t.Fatalf("the instance is not recorded after a kill during its layers")
	}
	s.must(0, "apply", "-auto-approve")
	st := s.loadableState("after recovery")
	s.checkExactly(st, "aws_instance.dev", "aws_key_pair.razer")
	if got := s.recordedLayers("aws_instance.dev"); strings.Join(got, ",") != "slow:shell" {
		t.Errorf("recorded layers = %v", got)
	}
	if _, err := os.Stat(filepath.Join(h.Root, "home", "ubuntu", "slow-done")); err != nil {
		t.Errorf("the layer did not finish: %v", err)
	}
	s.must(0, "plan", "-detailed-exitcode")
}

// TestCrashBeforeOutputsS3State kills apply right before the state write
// that records the outputs, with the state in S3 so that the write is a
// request the proxy sees: every object exists and is recorded, the outputs
// are not, and the killed run's lock stays. The next apply is refused with
// the lock's ID; after force-unlock it records the outputs and changes
// nothing else.
func TestCrashBeforeOutputsS3State(t *testing.T) {
	s := newStack(t, nil)
	s.writeConfig(coreConfig + s3Backend("")) // state traffic through the proxy
	s.createBucket()
	p := testworld.StartFaultProxy(t, s.endpoint())
	v := s.startVictim(p, func(x testworld.Exchange) bool {
		return x.Method == "PUT" && x.Path == "/"+stateBucket+"/"+stateKey && bytes.Contains(x.Body, []byte(`"outputs"`))
	}, nil, nil, "apply", "-auto-approve")
	if v.wait() == "" {
		t.Fatalf("the outputs were never written:\n%s", v.out.String())
	}
	st := s.remoteState()
	if len(st.Outputs) != 0 {
		t.Fatalf("outputs recorded before the kill")
	}
	s.checkExactly(st, coreAddrs...)
	if s.lockObject() == nil {
		t.Fatal("the killed run left no lock")
	}
	r := s.must(1, "apply", "-auto-approve")
	m := lockIDRe.FindStringSubmatch(strings.Join(strings.Fields(r.stderr), " "))
	if m == nil {
		t.Fatalf("the refusal names no lock ID:\n%s", r)
	}
	s.must(0, "force-unlock", m[1])
	r = s.must(0, "apply", "-auto-approve")
	contains(t, r, "public_ip = ")
	st = s.remoteState()
	s.checkExactly(st, coreAddrs...)
	if st.Outputs["public_ip"] == nil {
		t.Errorf("public_ip not recorded after recovery")
	}
	s.must(0, "plan", "-detailed-exitcode")
	s.checkUnlocked("after recovery")
}

// TestImportAndStateRm: an instance made outside mlops is imported and
// then managed; state rm forgets it without touching it.
func TestImportAndStateRm(t *testing.T) {
	s := newStack(t, map[string]string{"main.hcl": instanceOnlyConfig})
	ctx := context.Background()
	out, err := s.ec2().RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: awssdk.String("ami-0a1b2c3d4e5f60718"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := awssdk.ToString(out.Instances[0].InstanceId)

	r := s.must(1, "import", "aws_instance.other", id)
	contains(t, r, "aws_instance.other must be declared in the configuration")
	r = s.must(0, "import", "aws_instance.solo", id)
	contains(t, r, "aws_instance.solo: imported "+id)
	r = s.must(1, "import", "aws_instance.solo", id)
	contains(t, r, "already in the state")

	// Managed: refreshed by its ID, nothing to create or change; only the
	// output is new.
	r = s.must(2, "plan", "-detailed-exitcode")
	contains(t, r, "aws_instance.solo: Refreshing state... [id="+id+"]", "Plan: 0 to add, 0 to change, 0 to destroy.", `+ id = "`+id+`"`)
	s.must(0, "apply", "-auto-approve")
	if live := s.liveInstances(); len(live) != 1 || awssdk.ToString(live[0].InstanceId) != id {
		t.Fatalf("after apply: %d instances", len(live))
	}
	r = s.must(0, "state", "show", "aws_instance.solo")
	contains(t, r, id)
	s.must(0, "plan", "-detailed-exitcode")

	r = s.must(0, "state", "rm", "aws_instance.solo")
	contains(t, r, "Removed aws_instance.solo from the state (the object itself was not touched).")
	if r := s.must(0, "state", "list"); strings.Contains(r.stdout, "aws_instance.solo") {
		t.Errorf("state list after rm: %s", r.stdout)
	}
	if live := s.liveInstances(); len(live) != 1 || awssdk.ToString(live[0].InstanceId) != id {
		t.Fatalf("state rm touched the instance: %d live", len(live))
	}
	r = s.must(2, "plan", "-detailed-exitcode")
	contains(t, r, "aws_instance.solo will be created")
	s.must(1, "state", "rm", "aws_instance.solo")
}
