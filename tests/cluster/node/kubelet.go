package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// How a container runs on this node.
type containerKind int

const (
	// Marked running and ready; a Job's completes.
	simulated containerKind = iota
	// Run for real, as a local process.
	local
	// An image tagged "bad": fails at once, over and over.
	broken
)

// Restarts back off as a kubelet's do, on a shorter clock.
const (
	backoffBase = 2 * time.Second
	backoffMax  = 30 * time.Second
)

type containerRuntime struct {
	name      string
	image     string
	kind      containerKind
	init      bool
	process   *process
	logPath   string
	startedAt metav1.Time
	// A simulated container's readiness; a process's is probeReady.
	ready      bool
	probeReady atomic.Bool
	// What the process was started with, for exec probes.
	spec     *containerSpec
	restarts int32
	// The current state when not running: waiting (with a reason) or
	// terminated (for good, or until the next restart).
	waiting    *corev1.ContainerStateWaiting
	terminated *corev1.ContainerStateTerminated
	last       *corev1.ContainerStateTerminated
	nextStart  time.Time
	probeStop  chan struct{}
}

type podRuntime struct {
	uid        types.UID
	key        string
	ip         string
	dir        string
	startTime  metav1.Time
	volumes    map[string]string
	containers map[string]*containerRuntime
	stopping   bool
	stopped    bool
}

type kubelet struct {
	client   kubernetes.Interface
	pods     corelisters.PodLister
	opts     options
	images   *images
	ips      *addresses
	volumes  *provisioner
	network  *network
	queue    workqueue.TypedRateLimitingInterface[string]
	mu       sync.Mutex
	runtimes map[string]*podRuntime
}

func newKubelet(client kubernetes.Interface, factory informers.SharedInformerFactory, o options, imgs *images, ips *addresses, volumes *provisioner) *kubelet {
	podInformer := factory.Core().V1().Pods()
	k := &kubelet{
		client:  client,
		pods:    podInformer.Lister(),
		opts:    o,
		images:  imgs,
		ips:     ips,
		volumes: volumes,
		network: &network{
			services: factory.Core().V1().Services().Lister(),
			pods:     podInformer.Lister(),
		},
		queue: workqueue.NewTypedRateLimitingQueue(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 5*time.Second)),
		runtimes: map[string]*podRuntime{},
	}
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	factory.Core().V1().PersistentVolumeClaims().Informer()
	factory.Core().V1().PersistentVolumes().Informer()
	factory.Core().V1().Services().Informer()
	return k
}

func (k *kubelet) run(ctx context.Context) {
	for i := 0; i < 4; i++ {
		go func() {
			for k.work(ctx) {
			}
		}()
	}
	// Time moves containers on (ready after a delay, a Job's completion,
	// a crash loop's next restart): look at every pod this node runs.
	every(ctx, 500*time.Millisecond, func() {
		k.mu.Lock()
		for key := range k.runtimes {
			k.queue.Add(key)
		}
		k.mu.Unlock()
	})
	k.queue.ShutDown()
}

func (k *kubelet) work(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	if err := k.sync(ctx, key); err != nil {
		if ctx.Err() == nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			fmt.Fprintf(os.Stderr, "node-standin: pod %s: %v\n", key, err)
		}
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}

func (k *kubelet) runtime(key string) *podRuntime {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.runtimes[key]
}

func (k *kubelet) sync(ctx context.Context, key string) error {
	namespace, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := k.pods.Pods(namespace).Get(name)
	rt := k.runtime(key)
	if apierrors.IsNotFound(err) || (err == nil && rt != nil && rt.uid != pod.UID) {
		// Gone (or replaced by a pod of the same name): its processes go.
		if rt != nil {
			k.forget(key, rt)
		}
		if err != nil {
			return nil
		}
		rt = nil
	} else if err != nil {
		return err
	}
	if pod.Spec.NodeName != k.opts.nodeName {
		return nil
	}
	if pod.DeletionTimestamp != nil {
		return k.terminate(ctx, pod, rt)
	}
	if terminal(pod) {
		if rt != nil {
			k.stopContainers(rt, 0)
		}
		return nil
	}
	if rt == nil {
		rt, err = k.admit(pod)
		if err != nil {
			return err
		}
	}
	k.step(ctx, pod, rt)
	return k.writeStatus(ctx, pod, rt)
}

// admit gives a newly bound pod its IP and directory.
func (k *kubelet) admit(pod *corev1.Pod) (*podRuntime, error) {
	ip := pod.Status.PodIP
	if ip != "" {
		k.ips.hold(ip)
	} else {
		var err error
		if ip, err = k.ips.take(); err != nil {
			return nil, err
		}
	}
	start := metav1.Now()
	if pod.Status.StartTime != nil {
		start = *pod.Status.StartTime
	}
	rt := &podRuntime{
		uid:        pod.UID,
		key:        pod.Namespace + "/" + pod.Name,
		ip:         ip,
		dir:        filepath.Join(k.opts.stateDir, "pods", string(pod.UID)),
		startTime:  start,
		containers: map[string]*containerRuntime{},
	}
	if err := os.MkdirAll(rt.dir, 0o755); err != nil {
		return nil, err
	}
	add := func(c corev1.Container, init bool) {
		kind := simulated
		switch {
		case failing(c.Image):
			kind = broken
		case k.images.find(c.Image) != nil:
			kind = local
		}
		rt.containers[c.Name] = &containerRuntime{
			name: c.Name, image: c.Image, kind: kind, init: init,
			logPath:   filepath.Join(rt.dir, "containers", c.Name, "0.log"),
			waiting:   &corev1.ContainerStateWaiting{Reason: "ContainerCreating"},
			probeStop: make(chan struct{}),
		}
	}
	for _, c := range pod.Spec.InitContainers {
		add(c, true)
	}
	for _, c := range pod.Spec.Containers {
		add(c, false)
	}
	k.mu.Lock()
	k.runtimes[rt.key] = rt
	k.mu.Unlock()
	return rt, nil
}

// forget stops a pod's processes and removes what it left on disk,
// claims' directories aside.
func (k *kubelet) forget(key string, rt *podRuntime) {
	k.mu.Lock()
	delete(k.runtimes, key)
	k.mu.Unlock()
	k.stopContainers(rt, 0)
	k.ips.release(rt.ip)
	os.RemoveAll(rt.dir)
}

func (k *kubelet) stopContainers(rt *podRuntime, grace time.Duration) {
	var wg sync.WaitGroup
	for _, c := range rt.containers {
		if c.probeStop != nil {
			select {
			case <-c.probeStop:
			default:
				close(c.probeStop)
			}
		}
		if c.process != nil {
			wg.Add(1)
			go func(p *process) {
				defer wg.Done()
				p.stop(grace)
			}(c.process)
		}
	}
	wg.Wait()
}

// terminate carries out a pod's graceful deletion: its processes get
// their stop signal and the grace period, then the pod is deleted for
// good, as a kubelet confirms a deletion.
func (k *kubelet) terminate(ctx context.Context, pod *corev1.Pod, rt *podRuntime) error {
	if rt != nil && !rt.stopping {
		rt.stopping = true
		grace := 30 * time.Second
		if pod.DeletionGracePeriodSeconds != nil {
			grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		}
		go func() {
			k.stopContainers(rt, grace)
			k.mu.Lock()
			rt.stopped = true
			k.mu.Unlock()
			k.queue.Add(rt.key)
		}()
		return nil
	}
	if rt != nil {
		k.mu.Lock()
		stopped := rt.stopped
		k.mu.Unlock()
		if !stopped {
			return nil
		}
	}
	zero := int64(0)
	uid := pod.UID
	err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	if rt != nil {
		k.forget(rt.key, rt)
	}
	return nil
}

func (k *kubelet) stopAll(grace time.Duration) {
	k.mu.Lock()
	all := make([]*podRuntime, 0, len(k.runtimes))
	for _, rt := range k.runtimes {
		all = append(all, rt)
	}
	k.mu.Unlock()
	var wg sync.WaitGroup
	for _, rt := range all {
		wg.Add(1)
		go func(rt *podRuntime) {
			defer wg.Done()
			k.stopContainers(rt, grace)
		}(rt)
	}
	wg.Wait()
}

// step moves every container of a pod on: init containers one after
// another, then the containers.
func (k *kubelet) step(ctx context.Context, pod *corev1.Pod, rt *podRuntime) {
	if rt.volumes == nil {
		volumes, err := k.prepareVolumes(pod, rt)
		if err != nil {
			for _, c := range rt.containers {
				c.waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: err.Error()}
			}
			return
		}
		rt.volumes = volumes
	}
	for i := range pod.Spec.InitContainers {
		spec := &pod.Spec.InitContainers[i]
		c := rt.containers[spec.Name]
		if c.terminated != nil && c.terminated.ExitCode == 0 {
			continue
		}
		k.stepContainer(ctx, pod, rt, spec, c)
		return
	}
	for i := range pod.Spec.Containers {
		spec := &pod.Spec.Containers[i]
		k.stepContainer(ctx, pod, rt, spec, rt.containers[spec.Name])
	}
}

// restarts says whether a container that ended runs again.
func restarts(pod *corev1.Pod, c *containerRuntime, exitCode int32) bool {
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return !c.init || exitCode != 0
}

func backoff(restarts int32) time.Duration {
	wait := backoffBase
	for i := int32(1); i < restarts && wait < backoffMax; i++ {
		wait *= 2
	}
	return min(wait, backoffMax)
}

func (k *kubelet) stepContainer(ctx context.Context, pod *corev1.Pod, rt *podRuntime, spec *corev1.Container, c *containerRuntime) {
	now := time.Now()
	if c.terminated != nil && !(c.waiting != nil && c.waiting.Reason == "CrashLoopBackOff") {
		return
	}
	// A process that ended: terminated, then perhaps restarted.
	if c.process != nil && c.process.exited() {
		p := c.process
		c.process = nil
		c.ready = false
		reason := "Completed"
		if p.exitCode != 0 {
			reason = "Error"
		}
		c.terminated = &corev1.ContainerStateTerminated{
			ExitCode: p.exitCode, Reason: reason,
			Message:   p.message(spec.TerminationMessagePolicy, c.logPath),
			StartedAt: c.startedAt, FinishedAt: metav1.Now(),
			ContainerID: containerID(rt, c),
		}
		if restarts(pod, c, p.exitCode) {
			c.waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off restarting failed container %s (%s)", c.name, describeExit(p.exitCode, p.signal))}
			c.nextStart = now.Add(backoff(c.restarts + 1))
		}
		return
	}
	if c.process != nil || (c.kind == simulated && c.waiting == nil && c.terminated == nil) {
		k.advanceRunning(pod, c)
		return
	}
	if c.waiting != nil && c.waiting.Reason == "CrashLoopBackOff" && now.Before(c.nextStart) {
		return
	}
	// Start (or restart) the container.
	restart := c.terminated != nil
	env, values, err := environment(ctx, k.client, pod, spec)
	if err != nil {
		var config *configError
		if errors.As(err, &config) {
			c.waiting = &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: config.message}
		} else {
			c.waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: err.Error()}
		}
		return
	}
	if restart {
		c.last = c.terminated
		c.terminated = nil
		c.restarts++
	}
	c.waiting = nil
	c.startedAt = metav1.Now()
	c.ready = false
	switch c.kind {
	case broken:
		c.terminated = &corev1.ContainerStateTerminated{
			ExitCode: 1, Reason: "Error", Message: "the image " + c.image + " fails on this node",
			StartedAt: c.startedAt, FinishedAt: c.startedAt, ContainerID: containerID(rt, c),
		}
		if restarts(pod, c, 1) {
			c.waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off restarting failed container %s", c.name)}
			c.nextStart = now.Add(backoff(c.restarts + 1))
		}
	case local:
		if uid, _, _ := identity(pod, spec, k.images.find(spec.Image)); nonRoot(pod, spec) && (uid == nil || *uid == 0) {
			c.waiting = &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError",
				Message: "container has runAsNonRoot and image will run as root"}
			return
		}
		if err := k.startLocal(pod, rt, spec, c, env, values); err != nil {
			c.terminated = &corev1.ContainerStateTerminated{
				ExitCode: 128, Reason: "StartError", Message: err.Error(),
				StartedAt: c.startedAt, FinishedAt: c.startedAt, ContainerID: containerID(rt, c),
			}
			if restarts(pod, c, 128) {
				c.waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: err.Error()}
				c.nextStart = now.Add(backoff(c.restarts + 1))
			}
		}
	}
}

// advanceRunning moves a running container on: a simulated one is ready
// after a delay and, in a pod that does not restart it, completes; a
// process is ready as its readiness probe says.
func (k *kubelet) advanceRunning(pod *corev1.Pod, c *containerRuntime) {
	if c.kind != simulated {
		return
	}
	elapsed := time.Since(c.startedAt.Time)
	if elapsed >= k.opts.readyAfter {
		c.ready = !c.init
	}
	completes := c.init || pod.Spec.RestartPolicy != corev1.RestartPolicyAlways
	if completes && elapsed >= 2*k.opts.readyAfter {
		c.ready = false
		c.terminated = &corev1.ContainerStateTerminated{
			ExitCode: 0, Reason: "Completed", StartedAt: c.startedAt, FinishedAt: metav1.Now(),
		}
	}
}

func containerID(rt *podRuntime, c *containerRuntime) string {
	return fmt.Sprintf("standin://%s-%s-%d", rt.uid, c.name, c.restarts)
}

// startLocal runs a container of an image listed in the images file.
func (k *kubelet) startLocal(pod *corev1.Pod, rt *podRuntime, spec *corev1.Container, c *containerRuntime, env []string, values map[string]string) error {
	img := k.images.find(spec.Image)
	dir := filepath.Join(rt.dir, "containers", c.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c.logPath = filepath.Join(dir, fmt.Sprintf("%d.log", c.restarts))
	// The image's environment first, the container's over it; names and
	// addresses rewritten to what this machine's network reaches.
	var full []string
	for _, e := range img.Env {
		full = append(full, strings.ReplaceAll(e, "{podIP}", rt.ip))
	}
	for _, e := range env {
		full = append(full, k.network.rewrite(e, ""))
	}
	command := argv(spec, img, values)
	for i := range command {
		command[i] = k.network.rewrite(command[i], rt.ip)
	}
	uid, gid, groups := identity(pod, spec, img)
	var mounts []mountSpec
	for path, source := range img.Files {
		mounts = append(mounts, mountSpec{Source: source, Target: path, ReadOnly: true})
	}
	for _, m := range spec.VolumeMounts {
		source, ok := rt.volumes[m.Name]
		if !ok {
			return fmt.Errorf("volume %q is not defined", m.Name)
		}
		if m.SubPath != "" {
			source = filepath.Join(source, m.SubPath)
			os.MkdirAll(source, 0o777)
		}
		mounts = append(mounts, mountSpec{Source: source, Target: m.MountPath, ReadOnly: m.ReadOnly})
	}
	readOnly := spec.SecurityContext != nil && spec.SecurityContext.ReadOnlyRootFilesystem != nil && *spec.SecurityContext.ReadOnlyRootFilesystem
	containerSpec := &containerSpec{
		Layer:           filepath.Join(dir, fmt.Sprintf("layer-%d", c.restarts)),
		Hostname:        pod.Name,
		PodIP:           rt.ip,
		Mounts:          mounts,
		ReadOnlyRoot:    readOnly,
		TerminationLog:  filepath.Join(dir, "termination-log"),
		TerminationPath: spec.TerminationMessagePath,
		Users:           img.Users,
		UID:             uid,
		GID:             gid,
		Groups:          groups,
		WorkingDir:      spec.WorkingDir,
		Argv:            command,
		Env:             full,
	}
	p, err := startProcess(containerSpec, c.logPath, signalNamed(img.StopSignal))
	if err != nil {
		return err
	}
	writePid(filepath.Join(dir, "pid"), p.pid)
	c.process = p
	c.spec = containerSpec
	c.probeReady.Store(false)
	go func() {
		<-p.done
		k.queue.Add(rt.key)
	}()
	c.probeStop = make(chan struct{})
	go k.probe(rt, spec.DeepCopy(), c, p, c.probeStop)
	return nil
}

// nonRoot says whether the container must not run as root.
func nonRoot(pod *corev1.Pod, spec *corev1.Container) bool {
	if sc := spec.SecurityContext; sc != nil && sc.RunAsNonRoot != nil {
		return *sc.RunAsNonRoot
	}
	sc := pod.Spec.SecurityContext
	return sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot
}

// identity is the user, group and supplementary groups a container runs
// as: the container's security context over the pod's over the image's.
func identity(pod *corev1.Pod, spec *corev1.Container, img *image) (*int64, *int64, []int64) {
	uid, gid := img.User, (*int64)(nil)
	var groups []int64
	if sc := pod.Spec.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
		if sc.FSGroup != nil {
			groups = append(groups, *sc.FSGroup)
		}
		groups = append(groups, sc.SupplementalGroups...)
	}
	if sc := spec.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
	}
	if gid == nil {
		gid = uid
	}
	return uid, gid, groups
}

// prepareVolumes makes the pod's volumes: emptyDirs and the contents of
// ConfigMap and Secret volumes in its directory, claims as their
// volumes' directories, all given to the pod's fsGroup.
func (k *kubelet) prepareVolumes(pod *corev1.Pod, rt *podRuntime) (map[string]string, error) {
	volumes := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		path := filepath.Join(rt.dir, "volumes", v.Name)
		switch {
		case v.PersistentVolumeClaim != nil:
			claim, err := k.volumes.claimPath(pod.Namespace, v.PersistentVolumeClaim.ClaimName)
			if err != nil {
				return nil, err
			}
			path = claim
		case v.HostPath != nil:
			path = v.HostPath.Path
		case v.ConfigMap != nil:
			if err := k.writeConfigMap(pod.Namespace, v.ConfigMap, path); err != nil {
				return nil, err
			}
		case v.Secret != nil:
			if err := k.writeSecret(pod.Namespace, v.Secret, path); err != nil {
				return nil, err
			}
		default:
			if err := os.MkdirAll(path, 0o777); err != nil {
				return nil, err
			}
			os.Chmod(path, 0o777)
		}
		if pod.Spec.SecurityContext != nil && v.HostPath == nil {
			ownVolume(path, pod.Spec.SecurityContext.FSGroup)
		}
		volumes[v.Name] = path
	}
	return volumes, nil
}

func (k *kubelet) writeConfigMap(namespace string, source *corev1.ConfigMapVolumeSource, path string) error {
	configMap, err := k.client.CoreV1().ConfigMaps(namespace).Get(context.Background(), source.Name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && optional(source.Optional) {
			return os.MkdirAll(path, 0o755)
		}
		return fmt.Errorf("configmap %q: %w", source.Name, err)
	}
	data := map[string][]byte{}
	for key, value := range configMap.Data {
		data[key] = []byte(value)
	}
	for key, value := range configMap.BinaryData {
		data[key] = value
	}
	return writeKeys(path, data, source.Items)
}

func (k *kubelet) writeSecret(namespace string, source *corev1.SecretVolumeSource, path string) error {
	secret, err := k.client.CoreV1().Secrets(namespace).Get(context.Background(), source.SecretName, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && optional(source.Optional) {
			return os.MkdirAll(path, 0o755)
		}
		return fmt.Errorf("secret %q: %w", source.SecretName, err)
	}
	return writeKeys(path, secret.Data, source.Items)
}

func writeKeys(dir string, data map[string][]byte, items []corev1.KeyToPath) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, value []byte) error {
		file := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		return os.WriteFile(file, value, 0o644)
	}
	if len(items) == 0 {
		for key, value := range data {
			if err := write(key, value); err != nil {
				return err
			}
		}
		return nil
	}
	for _, item := range items {
		if value, ok := data[item.Key]; ok {
			if err := write(item.Path, value); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeStatus posts the pod's status as its containers stand, when it
// changed.
func (k *kubelet) writeStatus(ctx context.Context, pod *corev1.Pod, rt *podRuntime) error {
	status := k.status(pod, rt)
	if apiequality.Semantic.DeepEqual(status, pod.Status) {
		return nil
	}
	updated := pod.DeepCopy()
	updated.Status = status
	_, err := k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	return err
}

func (k *kubelet) status(pod *corev1.Pod, rt *podRuntime) corev1.PodStatus {
	status := *pod.Status.DeepCopy()
	status.HostIP = "127.0.0.1"
	status.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	status.PodIP = rt.ip
	status.PodIPs = []corev1.PodIP{{IP: rt.ip}}
	status.StartTime = &rt.startTime
	containerStatus := func(spec corev1.Container) corev1.ContainerStatus {
		c := rt.containers[spec.Name]
		s := corev1.ContainerStatus{
			Name: spec.Name, Image: spec.Image, ImageID: "standin://" + spec.Image,
			RestartCount: c.restarts, Ready: c.ready, LastTerminationState: corev1.ContainerState{Terminated: c.last},
		}
		if c.kind == local {
			s.Ready = c.process != nil && !c.process.exited() && c.probeReady.Load()
		}
		started := false
		switch {
		case c.waiting != nil:
			s.State.Waiting = c.waiting
			if c.waiting.Reason == "CrashLoopBackOff" {
				s.LastTerminationState.Terminated = c.terminated
				s.ContainerID = containerID(rt, c)
			}
		case c.terminated != nil:
			s.State.Terminated = c.terminated
			s.ContainerID = c.terminated.ContainerID
		default:
			s.State.Running = &corev1.ContainerStateRunning{StartedAt: c.startedAt}
			s.ContainerID = containerID(rt, c)
			started = true
		}
		s.Started = &started
		return s
	}
	status.InitContainerStatuses = nil
	for _, spec := range pod.Spec.InitContainers {
		status.InitContainerStatuses = append(status.InitContainerStatuses, containerStatus(spec))
	}
	status.ContainerStatuses = nil
	allReady, allDone, anyFailed, anyRunning := true, true, false, false
	for _, spec := range pod.Spec.Containers {
		s := containerStatus(spec)
		status.ContainerStatuses = append(status.ContainerStatuses, s)
		allReady = allReady && s.Ready
		switch {
		case s.State.Terminated != nil:
			anyFailed = anyFailed || s.State.Terminated.ExitCode != 0
		case s.State.Running != nil:
			allDone = false
			anyRunning = true
		default:
			allDone = false
			if s.State.Waiting.Reason == "CrashLoopBackOff" {
				anyRunning = true
			}
		}
	}
	initialized := true
	for _, s := range status.InitContainerStatuses {
		if s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
			initialized = false
		}
	}
	initFailed := false
	for _, s := range status.InitContainerStatuses {
		if s.State.Terminated != nil && s.State.Terminated.ExitCode != 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			initFailed = true
		}
	}
	switch {
	case initFailed:
		status.Phase = corev1.PodFailed
	case allDone && anyFailed:
		status.Phase = corev1.PodFailed
	case allDone:
		status.Phase = corev1.PodSucceeded
	case anyRunning:
		status.Phase = corev1.PodRunning
	default:
		status.Phase = corev1.PodPending
	}
	if status.Phase == corev1.PodFailed || status.Phase == corev1.PodSucceeded {
		allReady = false
	}
	setCondition(&status, corev1.PodScheduled, true, "")
	setCondition(&status, corev1.PodInitialized, initialized, "ContainersNotInitialized")
	setCondition(&status, corev1.ContainersReady, allReady, "ContainersNotReady")
	setCondition(&status, corev1.PodReady, allReady, "ContainersNotReady")
	return status
}

// setCondition sets a pod condition, keeping its transition time when its
// status is unchanged.
func setCondition(status *corev1.PodStatus, kind corev1.PodConditionType, value bool, reason string) {
	wanted := corev1.ConditionFalse
	if value {
		wanted = corev1.ConditionTrue
		reason = ""
	} else if kind == corev1.PodReady || kind == corev1.ContainersReady {
		if status.Phase == corev1.PodSucceeded || status.Phase == corev1.PodFailed {
			reason = "PodCompleted"
		}
	}
	for i := range status.Conditions {
		c := &status.Conditions[i]
		if c.Type != kind {
			continue
		}
		if c.Status != wanted {
			c.Status = wanted
			c.LastTransitionTime = metav1.Now()
		}
		c.Reason = reason
		c.Message = ""
		return
	}
	status.Conditions = append(status.Conditions, corev1.PodCondition{
		Type: kind, Status: wanted, Reason: reason, LastTransitionTime: metav1.Now(),
	})
}
