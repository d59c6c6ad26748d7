package testworld

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"golang.org/x/crypto/ssh"
)

func strictClient(endpoint string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region: MotoRegion, BaseEndpoint: awssdk.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:       NewCountingClient(),
		RetryMaxAttempts: 1,
	})
}

// wantCode fails unless err is the EC2 error code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("%s: want %s, got %v", what, code, err)
	}
}

func TestStrictEC2(t *testing.T) {
	m := StartMoto(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := StartStrictEC2(t, m.Endpoint(), StrictOptions{Now: func() time.Time { return now }})
	c := strictClient(s.URL())
	ctx := context.Background()

	// Eventual consistency: a new group is not found by ID, then hidden
	// from a filter, then visible.
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("web"), Description: awssdk.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*sg.GroupId}})
	wantCode(t, "first read of a new group", err, "InvalidGroup.NotFound")
	got, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*sg.GroupId}})
	if err != nil || len(got.SecurityGroups) != 1 {
		t.Fatalf("second read: %v %v", got, err)
	}
	s.SetHiddenReads(2)
	sg2, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("db"), Description: awssdk.String("db")})
	if err != nil {
		t.Fatal(err)
	}
	byFilter := &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: awssdk.String("group-id"), Values: []string{*sg2.GroupId}}}}
	for i, want := range []int{0, 0, 1} {
		got, err := c.DescribeSecurityGroups(ctx, byFilter)
		if err != nil || len(got.SecurityGroups) != want {
			t.Fatalf("filter read %d: want %d groups, got %v %v", i, want, got, err)
		}
	}
	s.SetHiddenReads(0)

	// A group in use cannot be deleted.
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: awssdk.String("ami-0a1b2c3d4e5f60718"), InstanceType: types.InstanceTypeT3Micro,
		MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1), SecurityGroupIds: []string{*sg.GroupId}})
	if err != nil {
		t.Fatal(err)
	}
	id := *run.Instances[0].InstanceId
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})
	wantCode(t, "deleting a group in use", err, "DependencyViolation")
	if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: &id, Groups: []string{*sg2.GroupId}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}); err != nil {
		t.Fatalf("deleting a group no longer in use: %v", err)
	}

	// Key types: RSA and ED25519 only.
	epub, _, _ := ed25519.GenerateKey(rand.Reader)
	edKey, _ := ssh.NewPublicKey(epub)
	if _, err := c.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: awssdk.String("ed"), PublicKeyMaterial: ssh.MarshalAuthorizedKey(edKey)}); err != nil {
		t.Fatalf("importing ed25519: %v", err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecKey, _ := ssh.NewPublicKey(&ec.PublicKey)
	_, err = c.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: awssdk.String("ec"), PublicKeyMaterial: ssh.MarshalAuthorizedKey(ecKey)})
	wantCode(t, "importing ECDSA", err, "InvalidKey.Format")

	// At most 200 values in a filter.
	var many []string
	for i := range 201 {
		many = append(many, fmt.Sprintf("i-%017d", i))
	}
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: awssdk.String("instance-id"), Values: many}}})
	wantCode(t, "201 filter values", err, "FilterLimitExceeded")
	if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: awssdk.String("instance-id"), Values: many[:200]}}}); err != nil {
		t.Fatalf("200 filter values: %v", err)
	}

	// Capacity on demand.
	s.RefuseCapacity("t3.large")
	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: awssdk.String("ami-0a1b2c3d4e5f60718"), InstanceType: types.InstanceTypeT3Large,
		MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1)})
	wantCode(t, "no capacity", err, "InsufficientInstanceCapacity")

	// A type change needs a stopped instance, and the first start after
	// it fails.
	_, err = c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: &id, InstanceType: &types.AttributeValue{Value: awssdk.String("t3.small")}})
	wantCode(t, "type change while running", err, "IncorrectInstanceState")
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: &id, InstanceType: &types.AttributeValue{Value: awssdk.String("t3.large")}}); err != nil {
		t.Fatalf("type change while stopped: %v", err)
	}
	_, err = c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	wantCode(t, "first start after a type change", err, "InvalidParameterValue")
	_, err = c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	wantCode(t, "start without capacity", err, "InsufficientInstanceCapacity")
	s.AllowCapacity("t3.large")
	if _, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("start: %v", err)
	}

	// Volume modifications: in progress, then the 6-hour rule.
	desc, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	vol := desc.Reservations[0].Instances[0].BlockDeviceMappings[0].Ebs.VolumeId
	if _, err := c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: vol, Size: awssdk.Int32(20)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: vol, Size: awssdk.Int32(30)})
	wantCode(t, "modify while modifying", err, "IncorrectModificationState")
	for _, want := range []types.VolumeModificationState{"modifying", "optimizing", "completed"} {
		mods, err := c.DescribeVolumesModifications(ctx, &ec2.DescribeVolumesModificationsInput{VolumeIds: []string{*vol}})
		if err != nil || len(mods.VolumesModifications) != 1 || mods.VolumesModifications[0].ModificationState != want {
			t.Fatalf("modification state: want %s, got %+v %v", want, mods, err)
		}
	}
	_, err = c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: vol, Size: awssdk.Int32(30)})
	wantCode(t, "second modification within 6 hours", err, "VolumeModificationRateExceeded")
	now = now.Add(6*time.Hour + time.Minute)
	if _, err := c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: vol, Size: awssdk.Int32(30)}); err != nil {
		t.Fatalf("modification after 6 hours: %v", err)
	}
}
