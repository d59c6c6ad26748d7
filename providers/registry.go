package providers

import (
	"strings"

	"github.com/mlops-dev/mlops/schema"
)

// Registry maps provider names to providers. A resource type belongs to the
// provider named by its prefix before the first underscore ("aws_instance" ->
// "aws"); a type without underscore ("host") is its own provider name.
type Registry map[string]Provider

// ProviderName returns the provider name a resource type belongs to.
func ProviderName(resourceType string) string {
	if i := strings.IndexByte(resourceType, '_'); i > 0 {
		return resourceType[:i]
	}
	return resourceType
}

// ForType returns the provider of a resource or data source type.
func (r Registry) ForType(resourceType string) (Provider, bool) {
	p, ok := r[ProviderName(resourceType)]
	return p, ok
}

// Schemas merges the schemas of all providers; layers come from the hosts.
func (r Registry) Schemas(layers map[string]*schema.Layer) schema.Schemas {
	all := schema.Schemas{
		Provider:    map[string]*schema.Block{},
		Resources:   map[string]*schema.Resource{},
		DataSources: map[string]*schema.Resource{},
		Layers:      layers,
	}
	for _, p := range r {
		s := p.Schemas()
		for k, v := range s.Provider {
			all.Provider[k] = v
		}
		for k, v := range s.Resources {
			all.Resources[k] = v
		}
		for k, v := range s.DataSources {
			all.DataSources[k] = v
		}
	}
	return all
}
