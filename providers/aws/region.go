package aws

import (
	"context"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/config"
)

// defaultRegion finds the region the way the AWS CLI does when the
// provider block sets none: AWS_REGION, then AWS_DEFAULT_REGION, then the
// region of the profile (the provider block's profile, else AWS_PROFILE,
// else "default") in the shared config files. It reads only the
// environment and local files. source says where the region came from.
func (p *Provider) defaultRegion(ctx context.Context, profile string) (region, source string) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := p.env[k]; v != "" {
			return v, k
		}
	}
	if profile == "" {
		profile = p.env["AWS_PROFILE"]
	}
	if profile == "" {
		profile = p.env["AWS_DEFAULT_PROFILE"]
	}
	if profile == "" {
		profile = "default"
	}
	configFile := p.env["AWS_CONFIG_FILE"]
	if configFile == "" && p.env["HOME"] != "" {
		configFile = filepath.Join(p.env["HOME"], ".aws", "config")
	}
	credsFile := p.env["AWS_SHARED_CREDENTIALS_FILE"]
	if credsFile == "" && p.env["HOME"] != "" {
		credsFile = filepath.Join(p.env["HOME"], ".aws", "credentials")
	}
	if configFile == "" && credsFile == "" {
		return "", ""
	}
	sc, err := config.LoadSharedConfigProfile(ctx, profile, func(o *config.LoadSharedConfigOptions) {
		o.ConfigFiles, o.CredentialsFiles = nonEmpty(configFile), nonEmpty(credsFile)
	})
	if err != nil || sc.Region == "" {
		return "", ""
	}
	return sc.Region, "profile " + profile + " in " + configFile
}

func nonEmpty(s string) []string {
	if s == "" {
		return []string{}
	}
	return []string{s}
}
