package schema

import (
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestImpliedType(t *testing.T) {
	b := &Block{
		Attributes: map[string]*Attribute{"name": {Type: cty.String, Required: true}},
		BlockTypes: map[string]*NestedBlock{
			"ingress": {Nesting: NestingList, Block: Block{Attributes: map[string]*Attribute{"port": {Type: cty.Number}}}},
			"root":    {Nesting: NestingSingle, Block: Block{Attributes: map[string]*Attribute{"size": {Type: cty.Number}}}},
		},
	}
	want := cty.Object(map[string]cty.Type{
		"name":    cty.String,
		"ingress": cty.List(cty.Object(map[string]cty.Type{"port": cty.Number})),
		"root":    cty.Object(map[string]cty.Type{"size": cty.Number}),
	})
	// Many at once, as plan and evaluation ask for it (go test -race).
	var wg sync.WaitGroup
	got := make([]cty.Type, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = b.ImpliedType()
		}()
	}
	wg.Wait()
	for i, ty := range got {
		if !ty.Equals(want) {
			t.Errorf("call %d: %#v, want %#v", i, ty, want)
		}
	}
	if testing.AllocsPerRun(10, func() { b.ImpliedType() }) != 0 {
		t.Error("ImpliedType is computed again on every call")
	}
}
