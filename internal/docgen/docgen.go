// Package docgen writes the reference of every resource, data source and
// layer kind from their schemas, so the documentation cannot drift from the
// code: docs/reference.md is generated, and a test fails when it is stale.
package docgen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/aws"
	"github.com/mlops-dev/mlops/providers/builtin"
	"github.com/mlops-dev/mlops/providers/host/layers"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// Reference renders docs/reference.md.
func Reference() string {
	reg := providers.Registry{"aws": aws.New(aws.Options{}), "host": builtin.New()}
	s := reg.Schemas(layers.Schemas())
	var b strings.Builder
	b.WriteString("# Reference\n\n")
	b.WriteString("Generated from the schemas by `go run ./internal/docgen/cmd`; do not edit by hand.\n")
	b.WriteString("Required attributes must be set; optional ones may be; computed ones are set by mlops and can be\n")
	b.WriteString("read in expressions (`aws_instance.x.public_ip`). ForceNew: changing it replaces the object.\n")
	section := func(title string, names []string, blk func(string) *schema.Block) {
		for _, n := range names {
			fmt.Fprintf(&b, "\n## %s `%s`\n", title, n)
			bl := blk(n)
			if bl.Description != "" {
				fmt.Fprintf(&b, "\n%s\n", bl.Description)
			}
			writeBlock(&b, bl, "")
		}
	}
	section("provider", sortedKeys(s.Provider), func(n string) *schema.Block { return s.Provider[n] })
	section("data", sortedKeys(s.DataSources), func(n string) *schema.Block { return &s.DataSources[n].Block })
	section("resource", sortedKeys(s.Resources), func(n string) *schema.Block { return &s.Resources[n].Block })
	section("layer", sortedKeys(s.Layers), func(n string) *schema.Block {
		l := s.Layers[n]
		if l.Block.Description != "" {
			return &l.Block
		}
		return &schema.Block{Attributes: l.Attributes, BlockTypes: l.BlockTypes, Description: l.Description}
	})
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeBlock(b *strings.Builder, bl *schema.Block, prefix string) {
	if len(bl.Attributes) > 0 {
		b.WriteString("\n| attribute | type | | description |\n| --- | --- | --- | --- |\n")
		for _, n := range bl.AttributeNames() {
			a := bl.Attributes[n]
			var kind []string
			switch {
			case a.Required:
				kind = append(kind, "required")
			case a.Optional:
				kind = append(kind, "optional")
			default:
				kind = append(kind, "computed")
			}
			if a.Default != cty.NilVal && !a.Default.IsNull() {
				kind = append(kind, "default "+strings.ReplaceAll(valueText(a.Default), "|", "\\|"))
			}
			if a.ForceNew {
				kind = append(kind, "ForceNew")
			}
			desc := strings.ReplaceAll(strings.ReplaceAll(a.Description, "\n", " "), "|", "\\|")
			fmt.Fprintf(b, "| `%s%s` | %s | %s | %s |\n", prefix, n, a.Type.FriendlyName(), strings.Join(kind, ", "), desc)
		}
	}
	for _, n := range bl.BlockTypeNames() {
		nb := bl.BlockTypes[n]
		rep := "at most once"
		if nb.Nesting == schema.NestingList {
			rep = "repeatable"
		}
		fmt.Fprintf(b, "\nBlock `%s%s { ... }` (%s)", prefix, n, rep)
		if nb.Description != "" {
			fmt.Fprintf(b, ": %s", nb.Description)
		}
		b.WriteString("\n")
		writeBlock(b, &nb.Block, prefix+n+".")
	}
}

func valueText(v cty.Value) string {
	switch v.Type() {
	case cty.String:
		return fmt.Sprintf("%q", v.AsString())
	case cty.Bool:
		return fmt.Sprint(v.True())
	case cty.Number:
		return v.AsBigFloat().Text('f', -1)
	}
	if v.CanIterateElements() && v.LengthInt() == 0 {
		return "[]"
	}
	return v.GoString()
}
