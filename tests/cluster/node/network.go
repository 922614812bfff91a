package main

import (
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// Containers share this machine's network, so the names and addresses a
// pod's network namespace would give meaning to are rewritten where a
// container is given them:
//
//   - a Service's DNS name (`<service>.<namespace>.svc[.cluster.local]`,
//     with or without a port) becomes the IP and target port of one of
//     its ready pods (there is no kube-proxy, and no cluster DNS);
//   - a wildcard listen address (`0.0.0.0:<port>`, `[::]:<port>`) becomes
//     the pod's own IP, which is all a pod's wildcard reaches.
type network struct {
	services corelisters.ServiceLister
	pods     corelisters.PodLister
}

var serviceName = regexp.MustCompile(`\b([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?(:([0-9]+))?\b`)

var wildcard = regexp.MustCompile(`(^|[^0-9.])(0\.0\.0\.0|\[::\]):([0-9]+)`)

// rewrite applies both rules to one value.
func (n *network) rewrite(value, podIP string) string {
	value = serviceName.ReplaceAllStringFunc(value, func(match string) string {
		m := serviceName.FindStringSubmatch(match)
		port := 0
		if m[7] != "" {
			port, _ = strconv.Atoi(m[7])
		}
		ip, target, ok := n.endpoint(m[3], m[1], port)
		if !ok {
			return match
		}
		if m[7] == "" {
			return ip
		}
		return ip + ":" + strconv.Itoa(target)
	})
	if podIP != "" {
		value = wildcard.ReplaceAllString(value, "${1}"+podIP+":${3}")
	}
	return value
}

// endpoint is a ready pod behind Service namespace/name and the port it
// serves the Service's `port` on (the Service's only port when `port` is
// 0).
func (n *network) endpoint(namespace, name string, port int) (string, int, bool) {
	service, err := n.services.Services(namespace).Get(name)
	if err != nil || len(service.Spec.Selector) == 0 {
		return "", 0, false
	}
	var servicePort *corev1.ServicePort
	for i := range service.Spec.Ports {
		if port == 0 || int(service.Spec.Ports[i].Port) == port {
			servicePort = &service.Spec.Ports[i]
			break
		}
	}
	if servicePort == nil {
		return "", 0, false
	}
	pods, err := n.pods.Pods(namespace).List(labels.SelectorFromSet(service.Spec.Selector))
	if err != nil {
		return "", 0, false
	}
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil || pod.Status.PodIP == "" || !podReady(pod) {
			continue
		}
		target := servicePort.TargetPort
		switch {
		case target.IntValue() != 0:
			return pod.Status.PodIP, target.IntValue(), true
		case target.StrVal != "":
			for _, c := range pod.Spec.Containers {
				for _, p := range c.Ports {
					if p.Name == target.StrVal {
						return pod.Status.PodIP, int(p.ContainerPort), true
					}
				}
			}
		default:
			return pod.Status.PodIP, int(servicePort.Port), true
		}
	}
	return "", 0, false
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// loopbackToPod rewrites what means "this pod" in a probe's command: the
// pod's loopback is its own IP here.
func loopbackToPod(argv []string, podIP string) []string {
	out := make([]string, len(argv))
	for i, arg := range argv {
		switch arg {
		case "127.0.0.1", "localhost", "::1":
			out[i] = podIP
		default:
			out[i] = strings.ReplaceAll(arg, "127.0.0.1:", podIP+":")
		}
	}
	return out
}
