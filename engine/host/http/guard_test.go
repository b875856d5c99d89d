package http

import (
	"net/netip"
	"strings"
	"testing"
)

func TestGuard_CheckIP(t *testing.T) {
	tests := []struct {
		name  string
		ip    string
		allow []string
		want  string // "" = allowed, else a substring of the refusal
	}{
		{"public v4", "93.184.216.34", nil, ""},
		{"public v6", "2606:4700::1111", nil, ""},
		{"this network", "0.0.0.0", nil, "unspecified"},
		{"ten", "10.1.2.3", nil, "private"},
		{"cgnat", "100.64.0.1", nil, "shared"},
		{"loopback", "127.0.0.1", nil, "127.0.0.1 is a loopback address; add it to http.allow_cidrs to allow it"},
		{"loopback high", "127.255.255.254", nil, "loopback"},
		{"metadata", "169.254.169.254", nil, "link-local"},
		{"172.16", "172.31.255.255", nil, "private"},
		{"172.32 is public", "172.32.0.1", nil, ""},
		{"192.0.0", "192.0.0.8", nil, "IETF"},
		{"192.168", "192.168.1.1", nil, "private"},
		{"benchmark", "198.19.0.1", nil, "benchmarking"},
		{"multicast v4", "224.0.0.251", nil, "multicast"},
		{"reserved", "240.0.0.1", nil, "reserved"},
		{"broadcast", "255.255.255.255", nil, "reserved"},
		{"v6 unspecified", "::", nil, "unspecified"},
		{"v6 loopback", "::1", nil, "loopback"},
		{"mapped loopback", "::ffff:127.0.0.1", nil, "loopback address (IPv4-mapped)"},
		{"mapped private", "::ffff:10.0.0.1", nil, "private"},
		{"mapped public", "::ffff:8.8.8.8", nil, ""},
		{"nat64", "64:ff9b::7f00:1", nil, "NAT64"},
		{"6to4 loopback", "2002:7f00:1::", nil, "loopback address (6to4)"},
		{"6to4 metadata", "2002:a9fe:a9fe::1", nil, "link-local"},
		{"6to4 public", "2002:808:808::1", nil, ""},
		{"ula", "fd12:3456::1", nil, "unique local"},
		{"link-local v6", "fe80::1", nil, "link-local"},
		{"link-local v6 zone", "fe80::1%eth0", nil, "link-local"},
		{"multicast v6", "ff02::1", nil, "multicast"},
		{"allowed cidr", "127.0.0.1", []string{"127.0.0.0/8"}, ""},
		{"allowed cidr mapped", "::ffff:127.0.0.1", []string{"127.0.0.0/8"}, ""},
		{"allowed cidr elsewhere", "10.0.0.1", []string{"127.0.0.0/8"}, "private"},
		{"allowed v6", "fd00::5", []string{"fd00::/64"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGuard(nil, prefixes(tt.allow...))
			err := g.CheckIP(netip.MustParseAddr(tt.ip))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestGuard_CheckHost(t *testing.T) {
	tests := []struct {
		name  string
		allow []string
		host  string
		ok    bool
	}{
		{"no list", nil, "anything.example", true},
		{"exact", []string{"api.ittybit.com"}, "api.ittybit.com", true},
		{"case and dot", []string{"API.ittybit.com."}, "api.ITTYBIT.com", true},
		{"other host", []string{"api.ittybit.com"}, "evil.com", false},
		{"suffix trick", []string{"api.ittybit.com"}, "api.ittybit.com.evil.com", false},
		{"wildcard", []string{"*.example.com"}, "a.b.example.com", true},
		{"wildcard not apex", []string{"*.example.com"}, "example.com", false},
		{"wildcard not lookalike", []string{"*.example.com"}, "badexample.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGuard(tt.allow, nil)
			if err := g.CheckHost(tt.host); (err == nil) != tt.ok {
				t.Errorf("CheckHost(%q) = %v", tt.host, err)
			}
		})
	}
}

// prefixes parses CIDRs the tests know are valid.
func prefixes(cidrs ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}
