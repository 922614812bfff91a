package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// scheduler binds pending pods to the one node when their requests fit
// beside the pods already there and their claims are bound, and marks
// them Unschedulable with the scheduler's wording otherwise.
type scheduler struct {
	client  kubernetes.Interface
	pods    corelisters.PodLister
	node    string
	volumes *provisioner
}

func newScheduler(client kubernetes.Interface, factory informers.SharedInformerFactory, node string, volumes *provisioner) *scheduler {
	return &scheduler{client: client, pods: factory.Core().V1().Pods().Lister(), node: node, volumes: volumes}
}

func (s *scheduler) run(ctx context.Context) {
	every(ctx, 200*time.Millisecond, func() { s.schedule(ctx) })
}

// requests is what a pod asks of a node: its containers' requests added
// up, or an init container's when larger, as the scheduler counts.
func requests(pod *corev1.Pod) corev1.ResourceList {
	total := corev1.ResourceList{}
	for _, c := range pod.Spec.Containers {
		for name, q := range c.Resources.Requests {
			sum := total[name]
			sum.Add(q)
			total[name] = sum
		}
	}
	for _, c := range pod.Spec.InitContainers {
		for name, q := range c.Resources.Requests {
			if current, ok := total[name]; !ok || q.Cmp(current) > 0 {
				total[name] = q.DeepCopy()
			}
		}
	}
	return total
}

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (s *scheduler) schedule(ctx context.Context) {
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		return
	}
	used := corev1.ResourceList{}
	count := 0
	var pending []*corev1.Pod
	for _, pod := range pods {
		switch {
		case pod.Spec.NodeName == s.node && !terminal(pod):
			count++
			for name, q := range requests(pod) {
				sum := used[name]
				sum.Add(q)
				used[name] = sum
			}
		case pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil && !terminal(pod):
			pending = append(pending, pod)
		}
	}
	sort.Slice(pending, func(i, j int) bool {
		return pending[i].CreationTimestamp.Before(&pending[j].CreationTimestamp)
	})
	for _, pod := range pending {
		if reason := s.misfit(pod, used, count); reason != "" {
			s.unschedulable(ctx, pod, reason)
			continue
		}
		binding := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: s.node},
		}
		if err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
			if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				fmt.Fprintf(os.Stderr, "node-standin: bind %s/%s: %v\n", pod.Namespace, pod.Name, err)
			}
			continue
		}
		count++
		for name, q := range requests(pod) {
			sum := used[name]
			sum.Add(q)
			used[name] = sum
		}
	}
}

func (s *scheduler) misfit(pod *corev1.Pod, used corev1.ResourceList, count int) string {
	if bound, why := s.volumes.claimsBound(pod); !bound {
		return "0/1 nodes are available: " + why + "."
	}
	var short []string
	for name, q := range requests(pod) {
		limit, ok := allocatable[name]
		if !ok {
			continue
		}
		left := limit.DeepCopy()
		left.Sub(used[name])
		if q.Cmp(left) > 0 {
			short = append(short, "Insufficient "+string(name))
		}
	}
	pods := allocatable[corev1.ResourcePods]
	if int64(count) >= pods.Value() {
		short = append(short, "Too many pods")
	}
	if len(short) == 0 {
		return ""
	}
	sort.Strings(short)
	return fmt.Sprintf("0/1 nodes are available: 1 %s.", strings.Join(short, ", 1 "))
}

func (s *scheduler) unschedulable(ctx context.Context, pod *corev1.Pod, message string) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message == message {
			return
		}
	}
	updated := pod.DeepCopy()
	condition := corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: message,
		LastTransitionTime: metav1.Now(),
	}
	replaced := false
	for i := range updated.Status.Conditions {
		if updated.Status.Conditions[i].Type == corev1.PodScheduled {
			updated.Status.Conditions[i] = condition
			replaced = true
		}
	}
	if !replaced {
		updated.Status.Conditions = append(updated.Status.Conditions, condition)
	}
	updated.Status.Phase = corev1.PodPending
	_, err := s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		fmt.Fprintf(os.Stderr, "node-standin: %s/%s unschedulable: %v\n", pod.Namespace, pod.Name, err)
	}
}
