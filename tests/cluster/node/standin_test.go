package main

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
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

func TestTheEnvironmentIsResolvedAsAKubeletResolvesIt(t *testing.T) {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "team"},
		Data:       map[string][]byte{"url": []byte("postgres://db:5432/app"), "bad key": []byte("x")},
	}
	config := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "env", Namespace: "team"},
		Data:       map[string]string{"LOG_LEVEL": "info", "PORT": "8000"},
	}
	client := fake.NewSimpleClientset(secret, config)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app-0", Namespace: "team"},
		Status:     corev1.PodStatus{PodIP: "10.244.0.9"},
	}
	yes := true
	container := &corev1.Container{
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env"}}},
			{Prefix: "DB_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}},
		},
		Env: []corev1.EnvVar{
			{Name: "PORT", Value: "9000"},
			{Name: "LISTEN", Value: "$(POD_IP):$(PORT)"},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "AFTER", Value: "$(POD_IP)"},
			{Name: "OPTIONAL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "k", Optional: &yes}}},
		},
	}
	list, values, err := environment(context.Background(), client, pod, container)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"LOG_LEVEL": "info", "PORT": "9000", "DB_url": "postgres://db:5432/app",
		// Defined after LISTEN: left as written, as a kubelet does.
		"LISTEN": "$(POD_IP):9000", "POD_IP": "10.244.0.9", "AFTER": "10.244.0.9",
	}
	for name, value := range want {
		if values[name] != value {
			t.Errorf("%s = %q, want %q (%v)", name, values[name], value, list)
		}
	}
	if _, ok := values["DB_bad key"]; ok {
		t.Error("a key that is no variable name is skipped")
	}
	if _, ok := values["OPTIONAL"]; ok {
		t.Error("an optional reference to a missing Secret is left out")
	}

	for _, c := range []struct {
		ref  *corev1.SecretKeySelector
		want string
	}{
		{&corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "llm"}, Key: "api-key"}, `secret "llm" not found`},
		{&corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}, "couldn't find key password in Secret team/db"},
	} {
		missing := &corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: c.ref}}}}
		_, _, err := environment(context.Background(), client, pod, missing)
		var config *configError
		if !errors.As(err, &config) || config.message != c.want {
			t.Errorf("%v: got %v, want CreateContainerConfigError %q", c.ref, err, c.want)
		}
	}
}
