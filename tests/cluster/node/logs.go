package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// serveLogs answers the kubelet's container-log endpoint, which the API
// server proxies `pods/log` to: `/containerLogs/<ns>/<pod>/<container>`
// with `tailLines`, `limitBytes` and `previous`.
func serveLogs(port int, k *kubelet) (net.Listener, error) {
	certificate, err := selfSigned()
	if err != nil {
		return nil, err
	}
	listener, err := tls.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), &tls.Config{
		Certificates: []tls.Certificate{certificate},
	})
	if err != nil {
		return nil, fmt.Errorf("the kubelet port %d: %w", port, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("/containerLogs/", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
		if len(parts) != 3 {
			http.NotFound(w, r)
			return
		}
		path, ok := k.logPath(parts[0]+"/"+parts[1], parts[2], r.URL.Query().Get("previous") == "true")
		if !ok {
			http.Error(w, fmt.Sprintf("container %q in pod %q is not available", parts[2], parts[1]), http.StatusBadRequest)
			return
		}
		data, _ := os.ReadFile(path)
		if tail, err := strconv.Atoi(r.URL.Query().Get("tailLines")); err == nil && tail >= 0 {
			lines := strings.SplitAfter(string(data), "\n")
			if len(lines) > 0 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			if len(lines) > tail {
				lines = lines[len(lines)-tail:]
			}
			data = []byte(strings.Join(lines, ""))
		}
		if limit, err := strconv.Atoi(r.URL.Query().Get("limitBytes")); err == nil && limit >= 0 && len(data) > limit {
			data = data[:limit]
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(data)
	})
	go http.Serve(listener, mux)
	return listener, nil
}

// logPath is the log of a container's current run, or of the one before.
func (k *kubelet) logPath(key, container string, previous bool) (string, bool) {
	rt := k.runtime(key)
	if rt == nil {
		return "", false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := rt.containers[container]
	if !ok {
		return "", false
	}
	if !previous {
		return c.logPath, true
	}
	if c.restarts == 0 {
		return "", false
	}
	return filepath.Join(filepath.Dir(c.logPath), fmt.Sprintf("%d.log", c.restarts-1)), true
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "node-standin"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * 365 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
