package aws

import (
	"context"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// readAMI finds the image matching the name pattern with one DescribeImages
// call; the newest (by CreationDate) wins.
func (p *Provider) readAMI(ctx context.Context, c *ec2.Client, req providers.ReadDataSourceRequest) providers.ReadDataSourceResponse {
	cfg := req.Config
	owners := getStrings(cfg, "owners")
	pattern := getString(cfg, "name")
	in := &ec2.DescribeImagesInput{
		Owners: owners,
		Filters: []types.Filter{
			{Name: awssdk.String("name"), Values: []string{pattern}},
			{Name: awssdk.String("state"), Values: []string{"available"}},
		},
	}
	var images []types.Image
	for {
		out, err := c.DescribeImages(ctx, in)
		if err != nil {
			return providers.ReadDataSourceResponse{Diagnostics: apiDiag("looking up AMI "+pattern, err)}
		}
		images = append(images, out.Images...)
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	ownerText := "any owner"
	if len(owners) > 0 {
		ownerText = "owners " + strings.Join(owners, ", ")
	}
	if len(images) == 0 {
		return providers.ReadDataSourceResponse{Diagnostics: errorDiag("No AMI found",
			"No available image named %q (from %s) in this region. Check the pattern (* matches any characters) and the owner IDs.",
			pattern, ownerText)}
	}
	if len(images) > 1 && !getBool(cfg, "most_recent", true) {
		return providers.ReadDataSourceResponse{Diagnostics: errorDiag("More than one AMI found",
			"%d images named %q (from %s) match. Set most_recent = true to take the newest, or make the pattern narrower.",
			len(images), pattern, ownerText)}
	}
	img := newestImage(images)
	state := objectOf(&amiSchema().Block, map[string]cty.Value{
		"owners":           getAttr(cfg, "owners"),
		"name":             cty.StringVal(pattern),
		"most_recent":      cty.BoolVal(getBool(cfg, "most_recent", true)),
		"id":               cty.StringVal(deref(img.ImageId)),
		"image_name":       cty.StringVal(deref(img.Name)),
		"creation_date":    cty.StringVal(deref(img.CreationDate)),
		"architecture":     cty.StringVal(string(img.Architecture)),
		"root_device_name": stringOrNull(deref(img.RootDeviceName)),
		"owner_id":         stringOrNull(deref(img.OwnerId)),
		"region":           cty.StringVal(p.region()),
	})
	return providers.ReadDataSourceResponse{State: state}
}

// newestImage returns the image with the latest CreationDate; ties go to the
// greatest name, then ID, so the choice does not depend on API order.
func newestImage(images []types.Image) types.Image {
	sorted := append([]types.Image(nil), images...)
	sort.SliceStable(sorted, func(i, j int) bool {
		ti, tj := imageTime(sorted[i]), imageTime(sorted[j])
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		if ni, nj := deref(sorted[i].Name), deref(sorted[j].Name); ni != nj {
			return ni > nj
		}
		return deref(sorted[i].ImageId) > deref(sorted[j].ImageId)
	})
	return sorted[0]
}

func imageTime(img types.Image) time.Time {
	s := deref(img.CreationDate)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// rootImageInfo returns the image's root device name (default /dev/sda1)
// and the size of its root snapshot (0 when the image does not say).
func rootImageInfo(ctx context.Context, c *ec2.Client, ami string) (string, int32) {
	out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
	if err != nil || len(out.Images) != 1 || deref(out.Images[0].RootDeviceName) == "" {
		return "/dev/sda1", 0
	}
	img := out.Images[0]
	root := deref(img.RootDeviceName)
	for _, m := range img.BlockDeviceMappings {
		if deref(m.DeviceName) == root && m.Ebs != nil && m.Ebs.VolumeSize != nil {
			return root, *m.Ebs.VolumeSize
		}
	}
	return root, 0
}
