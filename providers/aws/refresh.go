package aws

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/hashicorp/hcl/v2"
	"github.com/mlops-dev/mlops/providers"
	"github.com/zclconf/go-cty/cty"
)

// maxFilterValues is EC2's limit of values in one filter.
const maxFilterValues = 200

// batchRead is how one resource type is refreshed: every recorded object of
// the type is read with ONE describe call (the keys of all of them), then
// each found object becomes its new state. A recorded object the call does
// not return is gone: its state is null.
type batchRead[T any] struct {
	// what names the objects in error messages ("EC2 instances").
	what string
	// key is the attribute that identifies an object in describe ("id", "name").
	key string
	// null is the type's null state.
	null cty.Value
	// describe reads the objects with these keys, by key.
	describe func(ctx context.Context, c *ec2.Client, keys []string) (map[string]T, error)
	// state turns a found object into its state; ok false means it is gone
	// (an instance being terminated, say).
	state func(obj T, prior cty.Value) (v cty.Value, ok bool)
}

func (b batchRead[T]) run(ctx context.Context, p *Provider, objs []providers.ResourceObject) ([]cty.Value, hcl.Diagnostics) {
	c, diags := p.ec2Client(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	var keys []string
	for _, o := range objs {
		if k := getString(o.State, b.key); k != "" {
			keys = append(keys, k)
		}
	}
	out := make([]cty.Value, len(objs))
	for i := range out {
		out[i] = b.null
	}
	if len(keys) == 0 {
		return out, nil
	}
	// EC2 refuses more than 200 values in one filter (FilterLimitExceeded):
	// a big stack is read 200 objects a call.
	found := map[string]T{}
	for start := 0; start < len(keys); start += maxFilterValues {
		part, err := b.describe(ctx, c, keys[start:min(start+maxFilterValues, len(keys))])
		if err != nil {
			return nil, apiDiag("reading "+b.what, err)
		}
		for k, v := range part {
			found[k] = v
		}
	}
	for i, o := range objs {
		if obj, ok := found[getString(o.State, b.key)]; ok {
			if v, ok := b.state(obj, o.State); ok {
				out[i] = v
			}
		}
	}
	return out, nil
}
