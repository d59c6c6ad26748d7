package command

import (
	"fmt"
	"path/filepath"

	"github.com/mlops-dev/mlops/addrs"
	"github.com/mlops-dev/mlops/config"
	"github.com/mlops-dev/mlops/plan"
	"github.com/mlops-dev/mlops/providers"
	"github.com/mlops-dev/mlops/providers/host"
	"github.com/mlops-dev/mlops/state"
)

// stateResource is the resource st records at a, or nil. The state's
// lookup is by the address as mlops writes it, which a.String() is.
func stateResource(st *state.State, a addrs.Resource) *state.Resource {
	return st.Resource(a.String())
}

// lookupResource is the resource st records at the address s, or nil, also
// when s is not an address.
func lookupResource(st *state.State, s string) *state.Resource {
	a, err := addrs.ParseResource(s)
	if err != nil {
		return nil
	}
	return stateResource(st, a)
}

// stateAddrs returns the state's addresses that s names: the resource at
// s, or, when s names a resource block with count or for_each without a
// key (aws_instance.box), all its instances.
func stateAddrs(st *state.State, s string) []addrs.Resource {
	a, err := addrs.ParseResource(s)
	if err != nil {
		return nil
	}
	if stateResource(st, a) != nil {
		return []addrs.Resource{a}
	}
	if a.Key != addrs.NoKey {
		return nil
	}
	var out []addrs.Resource
	for _, r := range st.Resources {
		if r.Key != addrs.NoKey && r.Addr().NoKey() == a {
			out = append(out, r.Addr())
		}
	}
	return out
}

// checkImportKey refuses to import at an address the next plan would
// destroy: an instance key on a resource without count or for_each, none
// on one with them, or a key that count or for_each does not produce.
func checkImportKey(cfg *config.Config, addr addrs.Resource) error {
	cr := cfg.Resources[addr.NoKey()]
	switch {
	case !cr.Expanded() && addr.Key != addrs.NoKey:
		return fmt.Errorf("%s has neither count nor for_each: import it as %s", addr.NoKey(), addr.NoKey())
	case cr.Expanded() && addr.Key == addrs.NoKey:
		return fmt.Errorf("%s has count or for_each: import one instance, like %s[\"KEY\"] or %s[0]", addr, addr, addr)
	case !cr.Expanded():
		return nil
	}
	insts, diags := cfg.Expand(addr.NoKey(), nil)
	if diags.HasErrors() {
		return fmt.Errorf("the instances of %s are not known before apply: %s", addr.NoKey(), diags.Error())
	}
	for _, a := range insts {
		if a == addr {
			return nil
		}
	}
	return fmt.Errorf("%s is not one of the instances the configuration declares (%d); the next plan would destroy it", addr, len(insts))
}

// aliasKeyFile is the IdentityFile of an ssh alias: the key mlops itself
// would log in with (host.Hosts.ChooseKeyFile), so that a team member
// whose own key is in authorized_keys gets an alias with that key.
func aliasKeyFile(d Deps, h plan.HostSSH) string {
	key := h.SSH.PrivateKey
	if key != "" && !filepath.IsAbs(key) {
		key = filepath.Join(d.Cwd, key)
	}
	return host.New(host.OptionsFromEnv(d.getenv)).ChooseKeyFile(providers.SSHTarget{
		PrivateKeyFile: key, AuthorizedKeys: h.SSH.AuthorizedKeys})
}
