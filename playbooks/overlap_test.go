package playbooks

import "testing"

// TestKeepOpenOverlaps: a keep-open conduit whose from zone's networks
// overlap those of a conduit that isolation cuts into the same zone is
// warned about, at the kept conduit; disjoint networks, a conduit into
// another zone and two keep-open conduits are not.
func TestKeepOpenOverlaps(t *testing.T) {
	cases := []checkCase{
		{name: "kept conduit inside a cut zone's networks", src: `zone "corp" { networks = ["10.0.0.0/8"] }
zone "historian" { networks = ["10.5.0.0/16"] }

conduit "corp_to_control" {
  from        = zone.corp
  to          = zone.control
  enforcement = "nftables.gw"
}

conduit "historian_to_control" {
  from                   = zone.historian
  to                     = zone.control
  enforcement            = "nftables.gw"
  keep_open_on_isolation = true
}
`, want: []checkWant{checkWarn(10, 1, "Kept conduit is cut by another's rules",
			`conduit "historian_to_control" is keep_open_on_isolation, but isolating zone control cuts conduit "corp_to_control", and its zone corp has network 10.0.0.0/8, which overlaps 10.5.0.0/16 of zone historian`)}},
		{name: "disjoint networks", src: `zone "corp" { networks = ["10.1.0.0/16", "fd00:1::/48"] }
zone "historian" { networks = ["10.5.0.0/16", "fd00:5::/48"] }

conduit "corp_to_control" {
  from        = zone.corp
  to          = zone.control
  enforcement = "nftables.gw"
}

conduit "historian_to_control" {
  from                   = zone.historian
  to                     = zone.control
  enforcement            = "nftables.gw"
  keep_open_on_isolation = true
}
`},
		{name: "overlap into another zone", src: `zone "corp" { networks = ["10.0.0.0/8"] }
zone "historian" { networks = ["10.5.0.0/16"] }

conduit "corp_to_dmz" {
  from        = zone.corp
  to          = zone.dmz
  enforcement = "nftables.gw"
}

conduit "historian_to_control" {
  from                   = zone.historian
  to                     = zone.control
  enforcement            = "nftables.gw"
  keep_open_on_isolation = true
}
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}
