package testworld

import (
	"context"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// MotoAccountID is the account moto answers for: the owner of every image
// registered through it (an owners filter matches it as "self" too).
const MotoAccountID = "123456789012"

// Image is an image registered in moto by RegisterImage.
type Image struct {
	ID           string
	Name         string
	OwnerID      string
	CreationDate string // RFC 3339, as DescribeImages reports it
}

// RegisterImage registers a new image called name in moto's MotoRegion, as
// an image publisher releases a newer build: what a data "aws_ami" picks
// when its name pattern matches name and its owners include
// MotoAccountID (or "self"). Moto gives the image the creation date of
// now, later than every image of MOTO_AMIS_PATH. The image is forgotten
// with the rest at the next Reset.
func (m *Moto) RegisterImage(t testing.TB, name string) Image {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := ec2.New(ec2.Options{
		Region:       MotoRegion,
		BaseEndpoint: awssdk.String(m.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   NewCountingClient(),
	})
	out, err := c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: awssdk.String(name),
		Architecture: "x86_64", RootDeviceName: awssdk.String("/dev/sda1")})
	if err != nil {
		t.Fatalf("registering image %s in moto: %v", name, err)
	}
	d, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{awssdk.ToString(out.ImageId)}})
	if err != nil || len(d.Images) != 1 {
		t.Fatalf("reading back image %s: %v", awssdk.ToString(out.ImageId), err)
	}
	img := d.Images[0]
	return Image{ID: awssdk.ToString(img.ImageId), Name: awssdk.ToString(img.Name),
		OwnerID: awssdk.ToString(img.OwnerId), CreationDate: awssdk.ToString(img.CreationDate)}
}
