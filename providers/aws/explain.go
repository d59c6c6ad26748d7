package aws

import (
	"errors"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/hcl/v2"
)

// Some API errors mean the same thing whatever call met them, and the raw
// SDK chain ("operation error EC2: DescribeInstances, get identity: get
// credentials: failed to refresh cached credentials, no EC2 IMDS role
// found, ...") says nothing about what to do. explainAPIError turns them
// into one paragraph that does.

// explainAPIError returns the explained diagnostic of err, or nil when err
// is not one of the errors explained here.
func explainAPIError(what string, err error) hcl.Diagnostics {
	code := errorCode(err)
	switch {
	case code == "VPCIdNotSpecified":
		return noDefaultVPC(what)
	case code == "InsufficientInstanceCapacity":
		var ae smithy.APIError
		errors.As(err, &ae)
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Not enough EC2 capacity",
			Detail: fmt.Sprintf("%s: EC2 has no capacity for this instance type in this Availability Zone right now "+
				"(InsufficientInstanceCapacity: %s). mlops does not retry it: capacity can take minutes or hours to come back. "+
				"Run apply again later, choose another instance_type, or choose a subnet_id in another Availability Zone.",
				what, ae.ErrorMessage())}}
	case code == "UnauthorizedOperation":
		action := operationName(err)
		var ae smithy.APIError
		errors.As(err, &ae)
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Not allowed by AWS",
			Detail: fmt.Sprintf("%s: the AWS credentials mlops used are valid but may not call ec2:%s (UnauthorizedOperation: %s). "+
				"Ask your account's administrator to allow ec2:%s for this user or role (mlops needs the ec2:Describe*, "+
				"RunInstances, Start/Stop/TerminateInstances, ModifyInstanceAttribute, ModifyVolume, CreateTags, ImportKeyPair, "+
				"security group and Elastic IP actions), or use another profile (profile in the provider block, or AWS_PROFILE). "+
				"`aws sts get-caller-identity` shows who you are; `aws sts decode-authorization-message` decodes the reason AWS attached.",
				what, action, ae.ErrorMessage(), action)}}
	case code == "AuthFailure" || code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch":
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "AWS refused the credentials",
			Detail: fmt.Sprintf("%s: AWS did not accept the credentials mlops used (%s). Check AWS_ACCESS_KEY_ID and "+
				"AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or the profile's keys in ~/.aws/credentials; "+
				"expired SSO sessions need `aws sso login`. `aws sts get-caller-identity` checks them.", what, code)}}
	case isMissingCredentials(err):
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No AWS credentials",
			Detail: fmt.Sprintf("%s: mlops found no AWS credentials. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "+
				"environment, or name a profile of ~/.aws/credentials or ~/.aws/config with AWS_PROFILE or profile = \"...\" "+
				"in the provider block (`aws configure` writes one; `aws sso login --profile NAME` for SSO profiles).", what)}}
	}
	return nil
}

// isMissingCredentials reports whether err is the SDK failing to find any
// credentials (as opposed to AWS refusing the ones it found).
func isMissingCredentials(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "failed to refresh cached credentials") || strings.Contains(s, "failed to retrieve credentials") ||
		strings.Contains(s, "no EC2 IMDS role found") || strings.Contains(s, "static credentials are empty")
}

// operationName is the API operation an SDK error comes from
// ("RunInstances"), or "the operation".
func operationName(err error) string {
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return oe.Operation()
	}
	return "the operation"
}

// neverRetried are API errors the SDK's retryer would retry (5xx) but
// mlops reports at once: retrying them for minutes only hides the answer.
var neverRetried = retry.IsErrorRetryableFunc(func(err error) awssdk.Ternary {
	if errorCode(err) == "InsufficientInstanceCapacity" {
		return awssdk.FalseTernary
	}
	return awssdk.UnknownTernary
})

// azOf is the Availability Zone of an instance, or "its zone".
func azOf(inst types.Instance) string {
	if inst.Placement != nil && deref(inst.Placement.AvailabilityZone) != "" {
		return deref(inst.Placement.AvailabilityZone)
	}
	return "its Availability Zone"
}
