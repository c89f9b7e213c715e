package playbooks

import (
	"net/netip"

	"github.com/hashicorp/hcl/v2"
)

// keepOpenOverlaps warns about a conduit marked keep_open_on_isolation
// whose traffic isolating its zone would drop anyway: another conduit into
// the same zone, one that isolation cuts, comes from a zone whose networks
// overlap the keep-open conduit's. Enforcement points match on networks,
// so the cut's rules drop the kept conduit's packets too (a corporate
// zone of 10.0.0.0/8 beside a historian zone of 10.5.0.0/16, say), and
// the plant loses the flow its safety depends on.
func keepOpenOverlaps(cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	networks := func(r *Ref) []netip.Prefix {
		if r == nil || cfg.Zones[r.Name] == nil {
			return nil
		}
		var out []netip.Prefix
		for _, n := range cfg.Zones[r.Name].Networks {
			if p, err := netip.ParsePrefix(n); err == nil {
				out = append(out, p.Masked())
			}
		}
		return out
	}
	names := sortedKeys(cfg.Conduits)
	for _, kn := range names {
		kept := cfg.Conduits[kn]
		if !kept.KeepOpenOnIsolation || kept.To == nil || kept.From == nil {
			continue
		}
		for _, cn := range names {
			cut := cfg.Conduits[cn]
			if cut.KeepOpenOnIsolation || cut.To == nil || cut.From == nil || cut.To.Name != kept.To.Name || cut.From.Name == kept.From.Name {
				continue
			}
			a, b, ok := overlap(networks(cut.From), networks(kept.From))
			if !ok {
				continue
			}
			addDiag(&diags, hcl.DiagWarning, kept.DeclRange, "Kept conduit is cut by another's rules",
				"conduit %q is keep_open_on_isolation, but isolating zone %s cuts conduit %q, and its zone %s has network %s, which overlaps %s of zone %s. Enforcement points match on networks, so cutting %q drops %q's traffic too, unless their protocols keep them apart. Give the zones networks that do not overlap.",
				kn, kept.To.Name, cn, cut.From.Name, a, b, kept.From.Name, cn, kn)
			break
		}
	}
	return diags
}

// overlap returns the first pair of overlapping prefixes of as and bs.
func overlap(as, bs []netip.Prefix) (a, b netip.Prefix, ok bool) {
	for _, a := range as {
		for _, b := range bs {
			if a.Overlaps(b) {
				return a, b, true
			}
		}
	}
	return netip.Prefix{}, netip.Prefix{}, false
}
