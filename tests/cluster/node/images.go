package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
)

// An image run for real: what its entrypoint and default command are on
// this machine, the environment the image sets, the files it holds (this
// machine's files bound read-only at the image's paths, so a container
// that names `/usr/local/bin/chatbot-operator` as its command finds it),
// and the names its users have (a user id /etc/passwd does not name is
// added to the container's own /etc/passwd, as the image's would have it).
type image struct {
	Repository string            `json:"repository"`
	Files      map[string]string `json:"files"`
	Entrypoint []string          `json:"entrypoint"`
	Cmd        []string          `json:"cmd"`
	Env        []string          `json:"env"`
	User       *int64            `json:"user"`
	Users      map[string]string `json:"users"`
	// The signal that stops it (the image's STOPSIGNAL), SIGTERM when unset.
	StopSignal string `json:"stopSignal"`
}

type images struct {
	Images []image `json:"images"`
}

func loadImages(path string) (*images, error) {
	if path == "" {
		return &images{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	var list images
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("images %s: %w", path, err)
	}
	for _, i := range list.Images {
		if len(i.Entrypoint) == 0 && len(i.Cmd) == 0 {
			return nil, fmt.Errorf("images %s: %s has neither entrypoint nor cmd", path, i.Repository)
		}
	}
	return &list, nil
}

// repository is an image reference without its tag or digest, with
// Docker Hub's implicit prefixes removed: `docker.io/library/postgres:17`
// and `postgres:16` are both `postgres`.
func repository(reference string) string {
	name := reference
	if at := strings.Index(name, "@"); at >= 0 {
		name = name[:at]
	}
	if colon := strings.LastIndex(name, ":"); colon > strings.LastIndex(name, "/") {
		name = name[:colon]
	}
	for _, prefix := range []string{"docker.io/", "index.docker.io/", "library/"} {
		name = strings.TrimPrefix(name, prefix)
	}
	return name
}

// tag is the image reference's tag, if it has one.
func tag(reference string) string {
	name := reference
	if at := strings.Index(name, "@"); at >= 0 {
		name = name[:at]
	}
	if colon := strings.LastIndex(name, ":"); colon > strings.LastIndex(name, "/") {
		return name[colon+1:]
	}
	return ""
}

func (l *images) find(reference string) *image {
	wanted := repository(reference)
	for i := range l.Images {
		if repository(l.Images[i].Repository) == wanted {
			return &l.Images[i]
		}
	}
	return nil
}

// failing is an image that crash-loops on this node: its tag says "bad".
func failing(reference string) bool {
	return strings.Contains(tag(reference), "bad")
}

// addresses hands out pods' IPs from a range routed to this machine's
// loopback interface (`ip route add local <range> dev lo`): a process
// bound to its pod's IP is reached there, and two pods listening on one
// port do not collide.
type addresses struct {
	mu    sync.Mutex
	next  netip.Addr
	first netip.Addr
	net   netip.Prefix
	taken map[netip.Addr]bool
}

func newAddresses(cidr string) (*addresses, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("--pod-network: %w", err)
	}
	prefix = prefix.Masked()
	first := prefix.Addr().Next()
	return &addresses{next: first, first: first, net: prefix, taken: map[netip.Addr]bool{}}, nil
}

func (a *addresses) take() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for tries := 0; tries < 1<<16; tries++ {
		candidate := a.next
		a.next = a.next.Next()
		if !a.net.Contains(a.next) {
			a.next = a.first
		}
		if !a.taken[candidate] && a.net.Contains(candidate) {
			a.taken[candidate] = true
			return candidate.String(), nil
		}
	}
	return "", fmt.Errorf("no pod IP left in %s", a.net)
}

func (a *addresses) hold(ip string) {
	if addr, err := netip.ParseAddr(ip); err == nil {
		a.mu.Lock()
		a.taken[addr] = true
		a.mu.Unlock()
	}
}

func (a *addresses) release(ip string) {
	if addr, err := netip.ParseAddr(ip); err == nil {
		a.mu.Lock()
		delete(a.taken, addr)
		a.mu.Unlock()
	}
}
