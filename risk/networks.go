package risk

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Networks is the operator's list of anonymising and hosting networks:
// one CIDR per line, optionally followed by a label ("Tor exit",
// "hosting"); # starts a comment.
type Networks struct {
	list []labelled
}

type labelled struct {
	prefix netip.Prefix
	label  string
}

// LoadNetworks reads a networks file; an empty path is an empty list.
func LoadNetworks(path string) (*Networks, error) {
	n := &Networks{}
	if path == "" {
		return n, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the networks file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		p, err := netip.ParsePrefix(fields[0])
		if err != nil {
			if a, aerr := netip.ParseAddr(fields[0]); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, fmt.Errorf("networks file %s line %d: %q is not a CIDR like 198.51.100.0/24", path, line, fields[0])
			}
		}
		label := strings.Join(fields[1:], " ")
		if label == "" {
			label = "listed network"
		}
		n.list = append(n.list, labelled{p.Masked(), label})
	}
	return n, sc.Err()
}

// Match returns the label of the listed network holding ip.
func (n *Networks) Match(ip string) (string, bool) {
	addr, err := netip.ParseAddr(ip)
	if n == nil || err != nil {
		return "", false
	}
	addr = addr.Unmap()
	for _, l := range n.list {
		if l.prefix.Contains(addr) {
			return l.label, true
		}
	}
	return "", false
}
