package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"syscall"
)

var serviceHost = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$`)

// resolve is the ready pod's address behind a Service's DNS name and
// port (`<service>.<namespace>.svc[.cluster.local][:port]`, port 80 when
// none is given), as cluster DNS and kube-proxy together would reach it.
func (n *network) resolve(hostport string) (string, bool) {
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		host, portText = hostport, "80"
	}
	m := serviceHost.FindStringSubmatch(host)
	if m == nil {
		return "", false
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return "", false
	}
	ip, target, ok := n.endpoint(m[3], m[1], port)
	if !ok {
		return "", false
	}
	return net.JoinHostPort(ip, strconv.Itoa(target)), true
}

// serveServiceProxy is an HTTP proxy into the cluster's Services: a
// process outside the cluster (the operator the tests run) that is given
// it as HTTP_PROXY reaches `http://<service>.<namespace>.svc:<port>/…` as
// a pod would, at one of the Service's ready pods.
func serveServiceProxy(address string, n *network) (net.Listener, error) {
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("the Service proxy on %s: %w", address, err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			http.Error(w, "only plain HTTP to a Service is proxied", http.StatusMethodNotAllowed)
			return
		}
		host := r.URL.Host
		if host == "" {
			host = r.Host
		}
		target, ok := n.resolve(host)
		if !ok {
			http.Error(w, fmt.Sprintf("%s: no ready pod behind a Service of that name", host), http.StatusBadGateway)
			return
		}
		proxy := &httputil.ReverseProxy{
			Rewrite: func(out *httputil.ProxyRequest) {
				out.SetURL(&url.URL{Scheme: "http", Host: target})
				out.Out.Host = host
			},
		}
		proxy.ServeHTTP(w, r)
	})
	go http.Serve(listener, handler)
	return listener, nil
}

// echoBot is the program of the tests' app image
// (ghcr.io/chatbot-operator/echo-bot): it answers 200 on every path, on
// its pod's IP and the port the app contract gives it ($PORT).
func echoBot() error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	hostname, err := os.Hostname()
	if err != nil {
		return err
	}
	addresses, err := net.LookupHost(hostname)
	if err != nil || len(addresses) == 0 {
		return fmt.Errorf("the pod's IP: %v", err)
	}
	listener, err := net.Listen("tcp", net.JoinHostPort(addresses[0], port))
	if err != nil {
		return err
	}
	fmt.Printf("echo-bot %s listening on %s\n", os.Getenv("CHATBOT_REVISION"), listener.Addr())
	server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "echo-bot %s: %s\n", os.Getenv("CHATBOT_REVISION"), r.URL.Path)
	})}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.Close()
	}()
	if err := server.Serve(listener); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}
