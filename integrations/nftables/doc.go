// Package nftables is the nftables enforcement-point adapter: it
// implements activities.Isolator by writing drop rules over netlink
// (github.com/google/nftables; it never runs the nft command) in one
// network namespace, the enforcement point's gateway.
//
// # What it writes
//
// Everything lives in one table that firebreak owns, "inet firebreak"
// unless Config.Table names another, holding one base chain:
//
//	table inet firebreak {
//		chain forward {
//			type filter hook forward priority filter; policy accept;
//			ip saddr 10.0.1.0/24 ip daddr 10.0.2.0/24 counter drop comment "firebreak c=it_to_ot k=… i=… s=… r=…"
//			…
//		}
//	}
//
// The chain is on the forward hook only. The enforcement point is a
// gateway that forwards between zones, so traffic over a conduit is
// forwarded traffic. Packets to or from the gateway itself (input, output)
// are not traffic over the conduit, and cutting them could lock responders
// and the worker out of the gateway while they need it. The policy is
// accept: firebreak only ever adds drops, and a drop in any base chain is
// final, so other tables' rules keep working as they did.
//
// # Rule shape
//
// A cut drops traffic both ways between every network of the From zone
// and every network of the To zone of the same family (IPv4 with IPv4,
// IPv6 with IPv6): one rule per source and destination network pair per
// direction, each with a counter. Rules rather than sets keep each cut
// readable in nft's listing and let verification compare rule by rule.
//
// When every protocol of the conduit is in the protocol table (Protocols,
// PortsOf: modbus tcp/502, dnp3 tcp and udp/20000, opcua tcp/4840, s7
// tcp/102, bacnet udp/47808, iec104 tcp/2404, ethernetip tcp/44818, udp/44818
// and udp/2222, ssh tcp/22, rdp tcp and udp/3389, https tcp and udp/443,
// http tcp/80, mqtt tcp/1883 and 8883), the cut matches those ports only:
// for each direction and port, one rule on the destination port and one
// on the source port, so a connection is cut whichever side opened it.
// When any protocol is not in the table, or the conduit names none, the
// cut drops all traffic between the networks: a cut must never leave a
// gap.
//
// # Comments
//
// Every rule carries a comment (the nftables userdata comment, as nft
// shows it):
//
//	firebreak c=CONDUIT k=KEYHASH i=INCIDENT s=STEP r=REASON
//
// KEYHASH is the first 16 hex digits of the SHA-256 of the request's
// idempotency key. The conduit and the key hash come first and are never
// shortened; the incident and step (at most 36 bytes each) and the reason
// are made printable ASCII (anything else, and '"' and '\', become '_';
// so do spaces except in the reason) and the whole is cut to 127 bytes,
// the longest comment nft accepts back. Conduit IDs must be letters,
// digits and _-.: of at most 48 bytes.
//
// # Idempotency, restore and verification
//
// A cut's rules are keyed by conduit and key hash. Cut with a key whose
// rules are in place changes nothing (a Temporal retry); a cut of the same
// conduit with another key (another incident, another step) adds its own
// set beside the first, so each cut is counted once and visible. Restore
// removes every firebreak rule of the conduit, whichever key wrote it, and
// nothing else; restoring a conduit that is not cut is harmless. When
// firebreak's table then holds nothing else, Restore removes it too, so
// the ruleset is exactly what it was before the first cut.
//
// Each change is one netlink batch, which the kernel applies atomically.
// Changes to one namespace and table are serialized within the process,
// and changes to one namespace across the worker processes of the host by
// an flock on the namespace file. After each change the chain is read back, and the conduit's
// rules must be exactly the expected ones (Expected; none after a
// restore): anything else is an error. Rules, tables and chains firebreak
// did not write are never changed; a rule someone else puts in firebreak's
// chain is listed by Rules with Conduit "" and left alone. A cut's rules go
// at the head of the chain, so such a rule that accepts cannot open it.
//
// # Several enforcement points
//
// An Adapter serves one namespace. A worker with several real nftables
// integrations has one Adapter for each, and its router (internal/adapters)
// sends each request to the adapter of the integration its Enforcement
// names; an adapter with an ID also refuses requests for another one.
//
// # Errors
//
// Bad input (a network that is not a CIDR, a zone without networks, zones
// of different IP families, an unusable conduit ID, an exercise request),
// a cut into a table someone made dormant (its rules would drop nothing)
// and missing permissions (CAP_NET_ADMIN, and CAP_SYS_ADMIN to enter a
// named namespace) wrap activities.ErrPermanent. A missing namespace and
// netlink failures are retryable: the namespace may appear, the kernel may
// answer next time.
package nftables
