package main

import (
	"context"
	"fmt"
	"os"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// What the node offers: far more than the tests ask, so only a request
// meant not to fit (a CPU count no node has) stays unschedulable.
var allocatable = corev1.ResourceList{
	corev1.ResourceCPU:              resource.MustParse("256"),
	corev1.ResourceMemory:           resource.MustParse("1Ti"),
	corev1.ResourcePods:             resource.MustParse("2000"),
	corev1.ResourceEphemeralStorage: resource.MustParse("10Ti"),
}

const (
	leaseSeconds      = 40
	heartbeatInterval = 10 * time.Second
)

type node struct {
	client      kubernetes.Interface
	name        string
	kubeletPort int
	version     string
}

func (n *node) conditions(now metav1.Time) []corev1.NodeCondition {
	condition := func(kind corev1.NodeConditionType, status corev1.ConditionStatus, reason, message string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: kind, Status: status, Reason: reason, Message: message,
			LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		condition(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		condition(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		condition(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		condition(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	}
}

func (n *node) status(now metav1.Time) corev1.NodeStatus {
	hostname, _ := os.Hostname()
	return corev1.NodeStatus{
		Capacity:    allocatable,
		Allocatable: allocatable,
		Phase:       corev1.NodeRunning,
		Conditions:  n.conditions(now),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: corev1.NodeHostName, Address: hostname},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{
			KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.kubeletPort)},
		},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               "standin",
			SystemUUID:              "standin",
			BootID:                  fmt.Sprintf("standin-%d", os.Getpid()),
			KernelVersion:           "standin",
			OSImage:                 "node-standin",
			ContainerRuntimeVersion: "standin://1",
			KubeletVersion:          n.version,
			KubeProxyVersion:        n.version,
			OperatingSystem:         "linux",
			Architecture:            "amd64",
		},
	}
}

// register creates the Node (or takes over one a previous run left) and
// posts its status.
func (n *node) register(ctx context.Context) error {
	nodes := n.client.CoreV1().Nodes()
	object := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.name,
			Labels: map[string]string{
				"kubernetes.io/hostname": n.name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "standin",
			},
		},
	}
	existing, err := nodes.Get(ctx, n.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		existing, err = nodes.Create(ctx, object, metav1.CreateOptions{})
		if err != nil {
			return err
		}
	case err != nil:
		return err
	}
	existing.Status = n.status(metav1.Now())
	if _, err := nodes.UpdateStatus(ctx, existing, metav1.UpdateOptions{}); err != nil {
		return err
	}
	return n.renewLease(ctx)
}

func (n *node) renewLease(ctx context.Context) error {
	leases := n.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	duration := int32(leaseSeconds)
	lease, err := leases.Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: corev1.NamespaceNodeLease},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       &n.name,
				LeaseDurationSeconds: &duration,
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity = &n.name
	lease.Spec.LeaseDurationSeconds = &duration
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// heartbeat keeps the Lease and the Ready condition fresh, so the node
// lifecycle controller never marks the node unreachable.
func (n *node) heartbeat(ctx context.Context) {
	every(ctx, heartbeatInterval, func() { n.beat(ctx) })
}

// beat renews the Lease and posts the Ready condition.
func (n *node) beat(ctx context.Context) {
	if err := n.renewLease(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "node-standin: renew lease: %v\n", err)
	}
	nodes := n.client.CoreV1().Nodes()
	current, err := nodes.Get(ctx, n.name, metav1.GetOptions{})
	if err != nil {
		return
	}
	now := metav1.Now()
	status := n.status(now)
	for i := range status.Conditions {
		for _, old := range current.Status.Conditions {
			if old.Type == status.Conditions[i].Type && old.Status == status.Conditions[i].Status {
				status.Conditions[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	current.Status = status
	if _, err := nodes.UpdateStatus(ctx, current, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "node-standin: node status: %v\n", err)
	}
}
