// Package config loads an mlops configuration: all *.hcl files of a
// directory. Loading returns the configuration and every problem found, as
// hcl.Diagnostics with source ranges, without stopping at the first one.
//
// HCL stops here: the rest of mlops receives evaluated cty values and Go
// structs. Expressions that refer to resources are kept inside this package
// and evaluated on request, given the values known so far (see Values).
package config

import (
	"context"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/schema"
	"github.com/zclconf/go-cty/cty"
)

// LoadOptions are the inputs of Load besides the files.
type LoadOptions struct {
	// Schemas of the provider, resource, data source and layer types.
	Schemas schema.Schemas
	// Vars are -var arguments, "name=value", in command-line order.
	Vars []string
	// VarFiles are -var-file paths (HCL attribute files), in order.
	VarFiles []string
	// Env is the process environment ("K=V"); MLOPS_VAR_name sets variable name.
	Env []string
	// AllowUnsetVariables makes a variable without default and without value
	// unknown instead of an error (validate checks a configuration without values).
	AllowUnsetVariables bool
	// Context ends the reading of files that may block (a -var-file that
	// is a pipe) on Ctrl-C or SIGTERM; nil: never.
	Context context.Context
}

// Config is a loaded configuration.
type Config struct {
	// Dir is the configuration directory.
	Dir string
	// Sources maps each file name (as used in diagnostic ranges) to its bytes,
	// for rendering diagnostics with source snippets.
	Sources map[string][]byte
	// Files maps file names to parsed files (hcl.NewDiagnosticTextWriter wants them).
	Files map[string]*hcl.File

	Variables map[string]*Variable
	Locals    map[string]*Local
	Providers map[string]*Provider
	// Resources holds managed resources and data sources by address.
	Resources map[addrs.Resource]*Resource
	Outputs   map[string]*Output
	// Backend is the mlops { backend "TYPE" { ... } } block; nil means local state.
	Backend *Backend
	// Budget is the mlops { budget { ... } } block; nil means no limit.
	Budget *Budget

	eval  *evaluator
	reads *fileReads
	sens  *sensitivity
}

// Variable is a variable block with its resolved value.
type Variable struct {
	Name        string
	Type        cty.Type // cty.DynamicPseudoType when not declared
	Default     cty.Value
	Description string
	// Value is the final value: -var, -var-file, MLOPS_VAR_ environment, or default.
	Value     cty.Value
	DeclRange hcl.Range
	// Sensitive comes from sensitive = true: the value is never rendered.
	Sensitive bool
	// Source says where Value came from: SourceDefault, SourceEnv,
	// SourceFlag, or SourceVarFile followed by the file's path; "" when unset.
	Source string

	defaults *typeexpr.Defaults // optional-attribute defaults of the type
	typed    bool               // a type was declared (even "any")
}

// Local is one entry of a locals block.
type Local struct {
	Name      string
	DeclRange hcl.Range
	expr      hcl.Expression
}

// Provider is a provider block.
type Provider struct {
	Name      string
	Schema    *schema.Block
	DeclRange hcl.Range
	body      hcl.Body
	content   *decodedBody
}

// Resource is a resource or data block.
type Resource struct {
	Addr   addrs.Resource
	Schema *schema.Resource
	// DeclRange is the range of the block header (`resource "T" "N"`).
	DeclRange hcl.Range
	// DependsOn lists every resource or data source this one depends on,
	// through references (directly or via locals) and depends_on; sorted, no duplicates.
	DependsOn []addrs.Resource
	// PreventDestroy comes from lifecycle { prevent_destroy = true }.
	PreventDestroy bool
	// SSH is the ssh block, nil when there is none.
	SSH *SSH
	// Layers are the layer blocks, in the order written.
	Layers []*Layer

	body hcl.Body // remaining body, decoded with the schema on evaluation

	content   *decodedBody // body decoded with the schema
	dependsOn []dependsOnRef
	forEach   *hcl.Attribute // for_each = ..., nil when absent
	count     *hcl.Attribute // count = ..., nil when absent
	// repDeps are the resources that count or for_each refer to.
	repDeps map[addrs.Resource]bool
}

// SSH is an ssh block inside a resource; it may refer to self.
type SSH struct {
	DeclRange hcl.Range
	body      hcl.Body
	attrs     map[string]*hcl.Attribute
}

// Layer is a layer block inside a resource.
type Layer struct {
	Addr      addrs.Layer
	Kind      string
	Schema    *schema.Layer
	DeclRange hcl.Range
	body      hcl.Body
	content   *decodedBody
}

// Output is an output block.
type Output struct {
	Name        string
	Description string
	Sensitive   bool
	DependsOn   []addrs.Resource
	DeclRange   hcl.Range
	expr        hcl.Expression
	dependsOn   []dependsOnRef
}

// Backend is the state backend block.
type Backend struct {
	Type string
	// Config holds the evaluated attributes (constants and variables only).
	Config    map[string]cty.Value
	DeclRange hcl.Range
}

// Values holds the values of resources and data sources known so far, for
// evaluating expressions that refer to them. A resource without an entry
// evaluates as an unknown object of its schema's type (known after apply).
type Values map[addrs.Resource]cty.Value

// SSHSettings is an evaluated ssh block.
type SSHSettings struct {
	Host       string
	Port       int           // default 22
	User       string        // default "ubuntu"
	PrivateKey string        // path with ~ expanded; "" = ssh-agent only
	HostKey    string        // pinned key, "" = pin at first contact
	Timeout    time.Duration // default 5m
	Alias      string
	// StrictHostKey refuses a host whose key is pinned nowhere (host_key,
	// state, ~/.ssh/known_hosts for host resources) instead of trusting it
	// at first contact.
	StrictHostKey bool
	// Forwards are the private port forwards (ssh { forward = {...} }), by name.
	Forwards []Forward
	// Wake makes the alias start a stopped instance (ssh { wake = true }).
	Wake bool
	// AuthorizedKeys are the public keys of authorized_keys: the people
	// let in besides the key the machine was launched with.
	AuthorizedKeys []string
	// Known is false when some setting is not known yet (e.g. self.public_ip
	// before the instance exists); the other fields are then unreliable.
	Known bool
}

// LayerValue is an evaluated layer block.
type LayerValue struct {
	Addr      addrs.Layer
	Kind      string
	Config    cty.Value // conforms to the kind's schema; may contain unknowns
	DeclRange hcl.Range
	// Sensitive: some setting derives from a sensitive variable.
	Sensitive bool
}
