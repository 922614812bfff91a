// Command node-standin is the node of the end-to-end tests' control plane:
// kube-apiserver and kube-controller-manager run for real, and this one
// process stands in for kube-scheduler and a kubelet on one node. It runs
// as root: containers get mount namespaces of their own.
//
// It registers a Node and keeps its Lease and heartbeat fresh; binds
// pending pods to it when their requests fit and their claims are bound
// (else marks them Unschedulable); provisions the claims of its default
// StorageClass as local directories; and runs pods:
//
//   - a container whose image is listed in the images file runs for real,
//     as a local process, in a mount namespace of its own: the host's root
//     as an overlay (read-only when the container asks), its volumes bound
//     in at their mount paths, its termination message file at its path,
//     its user and groups from the pod's security context, its environment
//     resolved as a kubelet resolves it (a missing Secret or key leaves it
//     in CreateContainerConfigError). It shares the host's network: the
//     pod's IP is an address of a range routed to the loopback interface, wildcard listen addresses
//     in its arguments become that IP, and Service DNS names in its
//     environment and arguments become a ready endpoint's IP and port;
//   - any other container is marked running and ready after a short delay
//     (Job pods complete), except that an image tag containing "bad" fails:
//     a crash loop, or a failed Job pod.
//
// Container logs are served on the kubelet's port, so `kubectl logs` and
// the API's pods/log work. An HTTP proxy into the cluster's Services lets
// a process outside the cluster reach them by their DNS names, as the
// operator does for a candidate's smoke checks. `node-standin echo-bot`
// is the program of the tests' app image: 200 on every path. Everything
// it starts is stopped by process id.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type options struct {
	kubeconfig   string
	nodeName     string
	stateDir     string
	imagesFile   string
	kubeletPort  int
	podNetwork   string
	readyAfter   time.Duration
	version      string
	serviceProxy string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == containerInitCommand {
		// The first process of a container, in its own mount namespace.
		if err := containerInit(); err != nil {
			fmt.Fprintf(os.Stderr, "node-standin: %v\n", err)
			os.Exit(127)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "echo-bot" {
		if err := echoBot(); err != nil {
			fmt.Fprintf(os.Stderr, "echo-bot: %v\n", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of an identity that may manage nodes, pods and volumes")
	flag.StringVar(&o.nodeName, "node-name", "standin", "the Node's name")
	flag.StringVar(&o.stateDir, "state-dir", "", "where pods' volumes, logs and claims' directories live")
	flag.StringVar(&o.imagesFile, "images", "", "JSON file: the images run for real as local processes")
	flag.IntVar(&o.kubeletPort, "kubelet-port", 10250, "port of the container-log endpoint the API server proxies to")
	flag.StringVar(&o.podNetwork, "pod-network", "10.244.0.0/16", "range pods' IPs come from, routed to the loopback interface")
	flag.DurationVar(&o.readyAfter, "ready-after", time.Second, "how long a container that is not run takes to become ready")
	flag.StringVar(&o.version, "kubelet-version", "v0.0.0", "kubelet version the Node reports")
	flag.StringVar(&o.serviceProxy, "service-proxy", "", "address of an HTTP proxy into the cluster's Services (none when empty)")
	flag.Parse()
	if o.stateDir == "" || o.kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "node-standin: --kubeconfig and --state-dir are required")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "node-standin: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	config, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	config.QPS = 100
	config.Burst = 200
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	images, err := loadImages(o.imagesFile)
	if err != nil {
		return err
	}
	network, err := newAddresses(o.podNetwork)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.stateDir, 0o755); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	factory := informers.NewSharedInformerFactory(client, 0)
	n := &node{client: client, name: o.nodeName, kubeletPort: o.kubeletPort, version: o.version}
	if err := n.register(ctx); err != nil {
		return fmt.Errorf("register node %s: %w", o.nodeName, err)
	}
	go n.heartbeat(ctx)

	volumes := newProvisioner(client, factory, o.stateDir)
	if err := volumes.ensureStorageClass(ctx); err != nil {
		return fmt.Errorf("default StorageClass: %w", err)
	}
	kubelet := newKubelet(client, factory, o, images, network, volumes)
	sched := newScheduler(client, factory, o.nodeName, volumes)
	logs, err := serveLogs(o.kubeletPort, kubelet)
	if err != nil {
		return err
	}
	defer logs.Close()
	if o.serviceProxy != "" {
		proxy, err := serveServiceProxy(o.serviceProxy, kubelet.network)
		if err != nil {
			return err
		}
		defer proxy.Close()
	}

	factory.Start(ctx.Done())
	for kind, synced := range factory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return fmt.Errorf("cache of %v did not sync", kind)
		}
	}
	go volumes.run(ctx)
	go sched.run(ctx)
	go kubelet.run(ctx)
	fmt.Fprintf(os.Stderr, "node-standin: node %s is ready\n", o.nodeName)

	<-signals
	cancel()
	kubelet.stopAll(10 * time.Second)
	return nil
}

// every calls `f` every `interval` until `ctx` ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		f()
	}
}
