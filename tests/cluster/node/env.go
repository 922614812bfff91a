package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// configError is what keeps a container in CreateContainerConfigError:
// the kubelet's own wording.
type configError struct{ message string }

func (e *configError) Error() string { return e.message }

// environment resolves a container's environment as a kubelet does:
// `envFrom` first, then `env` in order, each `value` expanded with
// `$(VAR)` against what is defined before it; a missing Secret,
// ConfigMap or key that is not optional is an error.
func environment(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, container *corev1.Container) ([]string, map[string]string, error) {
	values := map[string]string{}
	var order []string
	set := func(name, value string) {
		if _, ok := values[name]; !ok {
			order = append(order, name)
		}
		values[name] = value
	}
	namespace := pod.Namespace
	fetched := map[string]map[string]string{}
	// The keys of ConfigMap or Secret `name` (`kind` as a kubelet names
	// it in its errors); nil without an error when it is missing and
	// optional.
	data := func(kind, name string, optionalRef *bool) (map[string]string, error) {
		id := kind + "/" + name
		if keys, ok := fetched[id]; ok {
			return keys, nil
		}
		keys := map[string]string{}
		var err error
		if kind == "secret" {
			var s *corev1.Secret
			if s, err = client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{}); err == nil {
				for key, value := range s.Data {
					keys[key] = string(value)
				}
			}
		} else {
			var c *corev1.ConfigMap
			if c, err = client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{}); err == nil {
				keys = c.Data
			}
		}
		switch {
		case apierrors.IsNotFound(err) && optional(optionalRef):
			return nil, nil
		case apierrors.IsNotFound(err):
			return nil, &configError{fmt.Sprintf("%s %q not found", kind, name)}
		case err != nil:
			return nil, err
		}
		fetched[id] = keys
		return keys, nil
	}
	// One key of it; `ok` false when it is missing and optional.
	key := func(kind, title, name, key string, optionalRef *bool) (string, bool, error) {
		keys, err := data(kind, name, optionalRef)
		if err != nil || keys == nil {
			return "", false, err
		}
		value, ok := keys[key]
		if !ok && !optional(optionalRef) {
			return "", false, &configError{fmt.Sprintf("couldn't find key %s in %s %s/%s", key, title, namespace, name)}
		}
		return value, ok, nil
	}

	for _, from := range container.EnvFrom {
		var keys map[string]string
		var err error
		switch {
		case from.ConfigMapRef != nil:
			keys, err = data("configmap", from.ConfigMapRef.Name, from.ConfigMapRef.Optional)
		case from.SecretRef != nil:
			keys, err = data("secret", from.SecretRef.Name, from.SecretRef.Optional)
		}
		if err != nil {
			return nil, nil, err
		}
		for _, name := range sortedKeys(keys) {
			if validName(from.Prefix + name) {
				set(from.Prefix+name, keys[name])
			}
		}
	}

	for _, env := range container.Env {
		from := env.ValueFrom
		var value string
		found := true
		var err error
		switch {
		case from == nil:
			value = expand(env.Value, values)
		case from.FieldRef != nil:
			value, err = fieldValue(pod, from.FieldRef.FieldPath)
		case from.ResourceFieldRef != nil:
			value = resourceValue(container, from.ResourceFieldRef)
		case from.ConfigMapKeyRef != nil:
			ref := from.ConfigMapKeyRef
			value, found, err = key("configmap", "ConfigMap", ref.Name, ref.Key, ref.Optional)
		case from.SecretKeyRef != nil:
			ref := from.SecretKeyRef
			value, found, err = key("secret", "Secret", ref.Name, ref.Key, ref.Optional)
		}
		if err != nil {
			return nil, nil, err
		}
		if found {
			set(env.Name, value)
		}
	}
	list := make([]string, 0, len(order))
	for _, name := range order {
		list = append(list, name+"="+values[name])
	}
	return list, values, nil
}

func optional(flag *bool) bool { return flag != nil && *flag }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

var envName = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)

func validName(name string) bool { return envName.MatchString(name) }

// expand replaces `$(VAR)` with VAR's value where it is defined, leaves
// it as written where it is not, and reads `$$` as a literal `$`: the
// kubelet's expansion.
func expand(input string, values map[string]string) string {
	var out strings.Builder
	for i := 0; i < len(input); i++ {
		if input[i] != '$' || i+1 >= len(input) {
			out.WriteByte(input[i])
			continue
		}
		switch input[i+1] {
		case '$':
			out.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(input[i+2:], ')')
			if end < 0 {
				out.WriteString(input[i:])
				return out.String()
			}
			name := input[i+2 : i+2+end]
			if value, ok := values[name]; ok {
				out.WriteString(value)
			} else {
				out.WriteString("$(" + name + ")")
			}
			i += end + 2
		default:
			out.WriteByte('$')
		}
	}
	return out.String()
}

var labelPath = regexp.MustCompile(`^metadata\.(labels|annotations)\['(.+)'\]$`)

func fieldValue(pod *corev1.Pod, path string) (string, error) {
	if m := labelPath.FindStringSubmatch(path); m != nil {
		if m[1] == "labels" {
			return pod.Labels[m[2]], nil
		}
		return pod.Annotations[m[2]], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return pod.Status.HostIP, nil
	case "status.podIP", "status.podIPs":
		return pod.Status.PodIP, nil
	}
	return "", &configError{fmt.Sprintf("unsupported fieldPath: %s", path)}
}

func resourceValue(container *corev1.Container, ref *corev1.ResourceFieldSelector) string {
	parts := strings.SplitN(ref.Resource, ".", 2)
	if len(parts) != 2 {
		return ""
	}
	list := container.Resources.Limits
	if parts[0] == "requests" {
		list = container.Resources.Requests
	}
	quantity, ok := list[corev1.ResourceName(parts[1])]
	if !ok {
		quantity = allocatable[corev1.ResourceName(parts[1])]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if parts[1] == "cpu" {
		value := (quantity.MilliValue() + divisor.MilliValue() - 1) / divisor.MilliValue()
		return strconv.FormatInt(value, 10)
	}
	value := (quantity.Value() + divisor.Value() - 1) / divisor.Value()
	return strconv.FormatInt(value, 10)
}
