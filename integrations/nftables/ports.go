package nftables

import (
	"slices"
	"strings"
)

// Port is one transport port a protocol runs on.
type Port struct {
	// Proto is "tcp" or "udp".
	Proto string
	// Number is the port number.
	Number uint16
}

// wellKnown is the protocol table: a conduit whose protocols are all in it
// is cut on these ports only; any other protocol name (or none) cuts all
// traffic between the networks. Every port of a protocol is listed, so a
// port-specific cut leaves none of its transports open.
var wellKnown = map[string][]Port{
	"modbus":     {{"tcp", 502}},
	"modbus-tcp": {{"tcp", 502}},
	"dnp3":       {{"tcp", 20000}, {"udp", 20000}},
	"opcua":      {{"tcp", 4840}},
	"s7":         {{"tcp", 102}},
	"s7comm":     {{"tcp", 102}},
	"bacnet":     {{"udp", 47808}},
	"iec104":     {{"tcp", 2404}},
	"ethernetip": {{"tcp", 44818}, {"udp", 44818}, {"udp", 2222}},
	"ssh":        {{"tcp", 22}},
	"rdp":        {{"tcp", 3389}, {"udp", 3389}},
	"https":      {{"tcp", 443}, {"udp", 443}},
	"http":       {{"tcp", 80}},
	"mqtt":       {{"tcp", 1883}, {"tcp", 8883}},
}

// Protocols lists the protocol names the adapter maps to ports, sorted.
func Protocols() []string {
	var names []string
	for n := range wellKnown {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// PortsOf returns the ports a cut of a conduit with these protocols matches,
// sorted and without repeats, and ok = true; ok is false (cut all traffic)
// when protocols is empty or any name is not in the table. Names are
// compared without regard to case and surrounding space.
func PortsOf(protocols []string) (ports []Port, ok bool) {
	if len(protocols) == 0 {
		return nil, false
	}
	for _, p := range protocols {
		ps, known := wellKnown[strings.ToLower(strings.TrimSpace(p))]
		if !known {
			return nil, false
		}
		ports = append(ports, ps...)
	}
	slices.SortFunc(ports, func(a, b Port) int {
		if c := strings.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		return int(a.Number) - int(b.Number)
	})
	return slices.Compact(ports), true
}
