package aws

import (
	"context"
	"fmt"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/zclconf/go-cty/cty"
)

// Tags named mlops:* belong to mlops (ownership: mlops:stack, mlops:address);
// configured tags cannot use the prefix and in-place tag updates never
// touch them. Tags named aws:* belong to AWS.
const (
	ownTagPrefix  = "mlops:"
	tagStack      = "mlops:stack"
	tagAddress    = "mlops:address"
	awsTagPrefix  = "aws:"
	maxTagKeyLen  = 128
	maxTagValLen  = 256
	maxUserTags   = 40
	tagsAttribute = "tags"
)

// createTags is what a new object is tagged with: the configured tags and the
// ownership tags of the request.
func createTags(reqTags, configured map[string]string) []types.Tag {
	all := map[string]string{}
	for k, v := range configured {
		all[k] = v
	}
	for k, v := range reqTags {
		all[k] = v
	}
	tags := make([]types.Tag, 0, len(all))
	for _, k := range sortedKeys(all) {
		tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(all[k])})
	}
	return tags
}

func tagSpecs(tags []types.Tag, resourceTypes ...types.ResourceType) []types.TagSpecification {
	if len(tags) == 0 {
		return nil
	}
	specs := make([]types.TagSpecification, len(resourceTypes))
	for i, rt := range resourceTypes {
		specs[i] = types.TagSpecification{ResourceType: rt, Tags: tags}
	}
	return specs
}

// userTags are the tags that configuration manages: all but mlops:* and aws:*.
func userTags(tags []types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		k := deref(t.Key)
		if strings.HasPrefix(k, ownTagPrefix) || strings.HasPrefix(strings.ToLower(k), awsTagPrefix) {
			continue
		}
		out[k] = deref(t.Value)
	}
	return out
}

// tagsValue is the state value of user tags. An object without tags is
// recorded the way the prior value had it (null or empty map), so that a
// refresh does not turn one into the other and show a change.
func tagsValue(tags map[string]string, prior cty.Value) cty.Value {
	if len(tags) > 0 {
		return stringMap(tags)
	}
	if prior.IsKnown() && !prior.IsNull() && prior.Type().IsMapType() && prior.LengthInt() == 0 {
		return cty.MapValEmpty(cty.String)
	}
	return cty.NullVal(cty.Map(cty.String))
}

// plannedTags is the planned tags attribute: the configured value, except
// that "no tags" keeps the prior's spelling (null or {}).
func plannedTags(prior, config cty.Value) cty.Value {
	c := getAttr(config, tagsAttribute)
	if c.IsKnown() && (c.IsNull() || c.LengthInt() == 0) {
		pv := getAttr(prior, tagsAttribute)
		if pv.IsKnown() && (pv.IsNull() || pv.LengthInt() == 0) && pv.Type().Equals(cty.Map(cty.String)) {
			return pv
		}
	}
	return conformTo(c, cty.Map(cty.String))
}

// syncTags brings the user tags of a resource from have to want with
// CreateTags and DeleteTags. It never touches mlops:* tags.
func syncTags(ctx context.Context, c *ec2.Client, id string, have, want map[string]string) error {
	var set []types.Tag
	for _, k := range sortedKeys(want) {
		if strings.HasPrefix(k, ownTagPrefix) {
			continue
		}
		if v, ok := have[k]; !ok || v != want[k] {
			set = append(set, types.Tag{Key: awssdk.String(k), Value: awssdk.String(want[k])})
		}
	}
	var del []types.Tag
	for _, k := range sortedKeys(have) {
		if strings.HasPrefix(k, ownTagPrefix) {
			continue
		}
		if _, ok := want[k]; !ok {
			del = append(del, types.Tag{Key: awssdk.String(k)})
		}
	}
	if len(set) > 0 {
		if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: set}); err != nil {
			return err
		}
	}
	if len(del) > 0 {
		if _, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: del}); err != nil {
			return err
		}
	}
	return nil
}

// ownerFilters select the objects tagged for the request's stack and
// address; nil when the request carries no ownership tags (then nothing can
// be adopted).
func ownerFilters(reqTags map[string]string) []types.Filter {
	stack, addr := reqTags[tagStack], reqTags[tagAddress]
	if stack == "" || addr == "" {
		return nil
	}
	return []types.Filter{
		{Name: awssdk.String("tag:" + tagStack), Values: []string{stack}},
		{Name: awssdk.String("tag:" + tagAddress), Values: []string{addr}},
	}
}

// hasOwnerTags checks the tags exactly: EC2 tag filters treat * and ? as
// wildcards, so a filter match alone is not proof of ownership.
func hasOwnerTags(tags []types.Tag, reqTags map[string]string) bool {
	got := map[string]string{}
	for _, t := range tags {
		got[deref(t.Key)] = deref(t.Value)
	}
	return got[tagStack] == reqTags[tagStack] && got[tagAddress] == reqTags[tagAddress]
}

func validateTags(v cty.Value) error {
	if v.LengthInt() > maxUserTags {
		return fmt.Errorf("at most %d tags are allowed, got %d", maxUserTags, v.LengthInt())
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		key := k.AsString()
		switch {
		case key == "":
			return fmt.Errorf("tag keys must not be empty")
		case len(key) > maxTagKeyLen:
			return fmt.Errorf("tag key %q is longer than %d characters", key, maxTagKeyLen)
		case strings.HasPrefix(key, ownTagPrefix):
			return fmt.Errorf("tag key %q uses the prefix %q, which mlops reserves for its own tags", key, ownTagPrefix)
		case strings.HasPrefix(strings.ToLower(key), awsTagPrefix):
			return fmt.Errorf("tag key %q uses the prefix %q, which AWS reserves", key, awsTagPrefix)
		}
		if e.IsKnown() && !e.IsNull() && len(e.AsString()) > maxTagValLen {
			return fmt.Errorf("the value of tag %q is longer than %d characters", key, maxTagValLen)
		}
	}
	return nil
}
