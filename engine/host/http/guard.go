package http

import (
	"fmt"
	"net/netip"
	"strings"
)

// blocked lists the ranges no script may reach unless allow_cidrs names
// them: private, loopback, link-local (cloud metadata), shared, reserved,
// multicast and the IPv6 forms that tunnel to them.
var blocked = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified (\"this network\") address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local (cloud metadata) address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("fc00::/7"), "a unique local (private) address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

var (
	mapped4 = netip.MustParsePrefix("::ffff:0:0/96")
	sixTo4  = netip.MustParsePrefix("2002::/16")
)

// Guard decides which addresses and hosts outbound requests may reach.
type Guard struct {
	allowHosts []string       // exact names or "*.example.com"
	allowCIDRs []netip.Prefix // explicitly allowed ranges
}

// NewGuard returns the guard for the allow lists: host names (exact or
// "*.example.com", case and a trailing dot ignored) and ranges.
func NewGuard(allowHosts []string, allowCIDRs []netip.Prefix) *Guard {
	g := &Guard{}
	for _, h := range allowHosts {
		g.allowHosts = append(g.allowHosts, strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), ".")))
	}
	for _, p := range allowCIDRs {
		g.allowCIDRs = append(g.allowCIDRs, p.Masked())
	}
	return g
}

// CheckHost reports whether host (no port) may be requested: always when
// allow_hosts is empty, else when it equals an entry or matches a
// "*.example.com" entry's suffix.
func (g *Guard) CheckHost(host string) error {
	if len(g.allowHosts) == 0 {
		return nil
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range g.allowHosts {
		if a == h {
			return nil
		}
		if rest, ok := strings.CutPrefix(a, "*."); ok && strings.HasSuffix(h, "."+rest) {
			return nil
		}
	}
	return fmt.Errorf("http: host %q is not in http.allow_hosts", host)
}

// CheckIP reports whether ip may be connected to: public addresses always,
// blocked ranges only when allow_cidrs contains them. IPv4-mapped and 6to4
// addresses are judged by the IPv4 address they carry.
func (g *Guard) CheckIP(ip netip.Addr) error {
	ip = ip.WithZone("")
	for _, p := range g.allowCIDRs {
		if p.Contains(ip) || (ip.Is4In6() && p.Contains(ip.Unmap())) {
			return nil
		}
	}
	what := classify(ip)
	if what == "" {
		return nil
	}
	return fmt.Errorf("http: %s is %s; add it to http.allow_cidrs to allow it", ip, what)
}

// classify names the blocked range ip falls in, or "" if it is public.
func classify(ip netip.Addr) string {
	if !ip.IsValid() {
		return "not a valid address"
	}
	if ip.Is6() && mapped4.Contains(ip) {
		if w := classify(ip.Unmap()); w != "" {
			return w + " (IPv4-mapped)"
		}
		return ""
	}
	if ip.Is6() && sixTo4.Contains(ip) {
		b := ip.As16()
		if w := classify(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); w != "" {
			return w + " (6to4)"
		}
		return ""
	}
	for _, b := range blocked {
		if b.prefix.Contains(ip) {
			return b.what
		}
	}
	return ""
}
