package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestExpandFollowsTheKubeletsRules(t *testing.T) {
	values := map[string]string{"HOST": "db", "PORT": "5432"}
	cases := []struct{ in, want string }{
		{"postgres://$(HOST):$(PORT)/app", "postgres://db:5432/app"},
		{"$(MISSING) stays", "$(MISSING) stays"},
		{"$$(HOST) is escaped", "$(HOST) is escaped"},
		{"a lone $ and $(unclosed", "a lone $ and $(unclosed"},
		{"", ""},
	}
	for _, c := range cases {
		if got := expand(c.in, values); got != c.want {
			t.Errorf("expand(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestImagesAreMatchedByRepositoryWhateverTheirTagOrRegistryPrefix(t *testing.T) {
	cases := []struct{ in, repository, tag string }{
		{"postgres:16", "postgres", "16"},
		{"docker.io/library/postgres:17-bookworm", "postgres", "17-bookworm"},
		{"ghcr.io/chatbot-operator/echo-bot:1.1.0", "ghcr.io/chatbot-operator/echo-bot", "1.1.0"},
		{"localhost:5000/app@sha256:abc", "localhost:5000/app", ""},
		{"bitnami/redis", "bitnami/redis", ""},
	}
	for _, c := range cases {
		if got := repository(c.in); got != c.repository {
			t.Errorf("repository(%q) = %q, want %q", c.in, got, c.repository)
		}
		if got := tag(c.in); got != c.tag {
			t.Errorf("tag(%q) = %q, want %q", c.in, got, c.tag)
		}
	}
	if !failing("ghcr.io/chatbot-operator/echo-bot:1.1.0-bad") || failing("ghcr.io/bad/app:1.0") {
		t.Error("only a tag that says bad fails")
	}
}

func TestARequestLargerThanTheNodeDoesNotFit(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("100000"),
		}},
	}}}}
	s := &scheduler{volumes: &provisioner{}}
	if got := s.misfit(pod, corev1.ResourceList{}, 0); got != "0/1 nodes are available: 1 Insufficient cpu." {
		t.Errorf("misfit = %q", got)
	}
	pod.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("250m")
	if got := s.misfit(pod, corev1.ResourceList{}, 0); got != "" {
		t.Errorf("a small pod does not fit: %q", got)
	}
}

func TestWildcardListenAddressesBecomeThePodsIP(t *testing.T) {
	n := &network{}
	cases := []struct{ in, want string }{
		{"--listen=0.0.0.0:8080", "--listen=10.244.0.7:8080"},
		{"[::]:80", "10.244.0.7:80"},
		{"10.0.0.0:80", "10.0.0.0:80"},
	}
	for _, c := range cases {
		if got := n.rewrite(c.in, "10.244.0.7"); got != c.want {
			t.Errorf("rewrite(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
