package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var probeCount atomic.Int64

// probe runs a process's readiness probe as a kubelet does (initial
// delay, period, timeout, thresholds) until the process ends; without a
// probe the container is ready once it runs.
func (k *kubelet) probe(rt *podRuntime, spec *corev1.Container, c *containerRuntime, p *process, stop chan struct{}) {
	probe := spec.ReadinessProbe
	if probe == nil {
		c.probeReady.Store(true)
		k.queue.Add(rt.key)
		return
	}
	seconds := func(value int32, fallback int32) time.Duration {
		if value <= 0 {
			value = fallback
		}
		return time.Duration(value) * time.Second
	}
	period := seconds(probe.PeriodSeconds, 10)
	timeout := seconds(probe.TimeoutSeconds, 1)
	successes, failures := probe.SuccessThreshold, probe.FailureThreshold
	if successes <= 0 {
		successes = 1
	}
	if failures <= 0 {
		failures = 3
	}
	wait := time.Duration(probe.InitialDelaySeconds) * time.Second
	var passed, failed int32
	for {
		select {
		case <-p.done:
			return
		case <-stop:
			return
		case <-time.After(wait):
		}
		// The first probes come quickly, as a kubelet's first does once
		// the container started.
		wait = min(period, time.Second)
		if passed+failed > 3 {
			wait = period
		}
		ok := k.runProbe(rt, spec, c, probe, timeout)
		if ok {
			passed, failed = passed+1, 0
		} else {
			passed, failed = 0, failed+1
		}
		before := c.probeReady.Load()
		switch {
		case ok && passed >= successes:
			c.probeReady.Store(true)
		case !ok && failed >= failures:
			c.probeReady.Store(false)
		}
		if before != c.probeReady.Load() {
			k.queue.Add(rt.key)
		}
	}
}

func containerPort(spec *corev1.Container, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range spec.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("port %q is not named by the container", port.StrVal)
}

func (k *kubelet) runProbe(rt *podRuntime, spec *corev1.Container, c *containerRuntime, probe *corev1.Probe, timeout time.Duration) bool {
	switch {
	case probe.HTTPGet != nil:
		get := probe.HTTPGet
		port, err := containerPort(spec, get.Port)
		if err != nil {
			return false
		}
		host := get.Host
		if host == "" {
			host = rt.ip
		}
		scheme := "http"
		if get.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		client := &http.Client{Timeout: timeout, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		}}
		response, err := client.Get(fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), get.Path))
		if err != nil {
			return false
		}
		response.Body.Close()
		return response.StatusCode >= 200 && response.StatusCode < 400
	case probe.TCPSocket != nil:
		port, err := containerPort(spec, probe.TCPSocket.Port)
		if err != nil {
			return false
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(rt.ip, strconv.Itoa(port)), timeout)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	case probe.Exec != nil:
		if c.spec == nil {
			return false
		}
		probeSpec := *c.spec
		n := probeCount.Add(1)
		probeSpec.Layer = filepath.Join(filepath.Dir(c.spec.Layer), fmt.Sprintf("probe-%d", n))
		probeSpec.Argv = loopbackToPod(probe.Exec.Command, rt.ip)
		probeSpec.TerminationLog = ""
		defer os.RemoveAll(probeSpec.Layer)
		p, err := startProcess(&probeSpec, os.DevNull, 0)
		if err != nil {
			return false
		}
		select {
		case <-p.done:
			return p.exitCode == 0
		case <-time.After(timeout):
			p.stop(0)
			return false
		}
	}
	// gRPC probes are not emulated: the container is taken as ready.
	return true
}
