#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for the end-to-end tests:
# etcd, kube-apiserver and kube-controller-manager, built from the
# k8s.io/kubernetes Go module at a pinned release, and the node stand-in
# (tests/cluster/node) in place of kube-scheduler and a kubelet.
#
#   scripts/cluster.sh up [--kubernetes newest|oldest|VERSION]   start one
#   scripts/cluster.sh down                                       stop it
#   scripts/cluster.sh build [--kubernetes newest|oldest|VERSION] only build
#   scripts/cluster.sh versions       the pinned releases, oldest first
#   scripts/cluster.sh env            the exports of the running one
#   scripts/cluster.sh prometheus-operator-crds
#                  install the Prometheus Operator's PodMonitor and
#                  PrometheusRule CRDs (its Go module's copies) in it
#
# `up` prints the line to source for KUBECONFIG and the tests' settings.
# RBAC is on; kubeconfigs hold tokens of an admin and of the operator's
# ServiceAccount identity; the API server writes an audit log of the
# operator identity's writes. Every process is started and stopped by
# process id; `up` first stops one a killed run left behind. The built
# binaries are cached outside the clone (CHATBOT_CLUSTER_CACHE, default
# ~/.cache/chatbot-operator/cluster), by release and module checksum.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
modules="$root/tests/cluster/kubernetes"
dir="${CHATBOT_CLUSTER_DIR:-$root/target/cluster}"
cache="${CHATBOT_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatbot-operator/cluster}"
operator_user="system:serviceaccount:chatbot-operator-system:chatbot-operator"
# The Prometheus Operator release whose CRDs the tests install.
prometheus_operator="github.com/prometheus-operator/prometheus-operator@v0.85.0"
# Pods' IPs: a range routed to this machine's loopback (a `local` route,
# removed by `down`), so a container bound to its pod's IP is reached
# there and Service endpoints hold ordinary addresses.
pod_network="${CHATBOT_CLUSTER_POD_NETWORK:-10.244.0.0/16}"

fail() {
  echo "cluster.sh: $*" >&2
  exit 1
}

versions() {
  (cd "$modules" && ls -d v*/ 2>/dev/null | tr -d / | sort -V)
}

resolve_version() {
  local wanted="${1:-newest}" all
  all="$(versions)"
  [ -n "$all" ] || fail "no pinned release under tests/cluster/kubernetes"
  case "$wanted" in
    newest) echo "$all" | tail -n 1 ;;
    oldest) echo "$all" | head -n 1 ;;
    *)
      wanted="v${wanted#v}"
      echo "$all" | grep -qx -- "$wanted" || fail "Kubernetes $wanted is not pinned here (pinned: $(echo $all))"
      echo "$wanted"
      ;;
  esac
}

checksum() {
  cat "$@" | sha256sum | cut -c1-16
}

# Builds kube-apiserver, kube-controller-manager and kubectl of `version`
# into the cache (once per release and module checksum); prints the
# directory.
build_kubernetes() {
  local version="$1" module="$modules/$1" sum out go_cmd ldflags=() tmp start
  sum="$(checksum "$module/go.mod" "$module/go.sum" "$module/tools.go")"
  out="$cache/kubernetes-$version-$sum"
  if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/kubectl" ]; then
    echo "$out"
    return
  fi
  command -v go >/dev/null || fail "go is missing: install Go (the module names $(awk '$1 == "go" { print $2; exit }' "$module/go.mod") or newer)"
  go_cmd=go
  local minor="${version#v1.}"
  minor="${minor%%.*}"
  for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=("-X $package.gitVersion=$version -X $package.gitMajor=1 -X $package.gitMinor=$minor -X $package.gitTreeState=clean")
  done
  tmp="$(mktemp -d "$cache.build.XXXXXX" 2>/dev/null || { mkdir -p "$cache" && mktemp -d "$cache.build.XXXXXX"; })"
  start=$(date +%s)
  echo "building Kubernetes $version from the k8s.io/kubernetes module ($("$go_cmd" version | cut -d' ' -f3))" >&2
  if ! (cd "$module" && GOFLAGS=-mod=readonly CGO_ENABLED=0 "$go_cmd" build -trimpath \
      -ldflags "-s -w ${ldflags[*]}" -o "$tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kubectl) >"$tmp/build.log" 2>&1; then
    local why
    why="$(grep -v '^go: downloading' "$tmp/build.log" | tail -n 1)"
    rm -rf "$tmp"
    fail "cannot build Kubernetes $version: $why"
  fi
  rm -f "$tmp/build.log"
  mkdir -p "$cache"
  rm -rf "$out"
  mv "$tmp" "$out"
  echo "built Kubernetes $version in $(( $(date +%s) - start )) s" >&2
  echo "$out"
}

# Builds the node stand-in into the cache (once per source checksum).
build_node() {
  local source="$root/tests/cluster/node" sum out tmp
  sum="$(checksum "$source"/go.mod "$source"/go.sum "$source"/*.go)"
  out="$cache/node-standin-$sum"
  if [ -x "$out/node-standin" ]; then
    echo "$out"
    return
  fi
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache.build.XXXXXX")"
  if ! (cd "$source" && GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "$tmp/node-standin" .) >"$tmp/build.log" 2>&1; then
    local why
    why="$(grep -v '^go: downloading' "$tmp/build.log" | tail -n 1)"
    rm -rf "$tmp"
    fail "cannot build the node stand-in: $why"
  fi
  rm -f "$tmp/build.log"
  rm -rf "$out"
  mv "$tmp" "$out"
  echo "$out"
}

# `1` free loopback ports, all different: every socket stays bound until
# all are chosen, so the kernel cannot hand the same port out twice.
free_ports() {
  python3 -c '
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
' "$1"
}

# Whether pid file `1` names a live process whose command line holds `2`.
alive() {
  local pid
  [ -f "$1" ] || return 1
  pid="$(cat "$1")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

stop_pid() {
  local file="$1" name="$2" pid
  alive "$file" "$name" || { rm -f "$file"; return 0; }
  pid="$(cat "$file")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    alive "$file" "$name" || break
    sleep 0.1
  done
  if alive "$file" "$name"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# Control planes started on this machine and not stopped yet, one
# directory a line: `up` stops those a killed run left, whichever clone
# started them.
registry="$cache/control-planes"

forget() {
  [ -f "$registry" ] || return 0
  grep -vxF -- "$1" "$registry" >"$registry.new" || true
  mv "$registry.new" "$registry"
}

down() {
  forget "$dir"
  [ -d "$dir" ] || return 0
  local stopped=0
  for name in node-standin kube-controller-manager kube-apiserver etcd; do
    if alive "$dir/pids/$name.pid" "$name"; then
      stopped=1
    fi
    stop_pid "$dir/pids/$name.pid" "$name"
  done
  # Containers the node ran (each its own process group), should the
  # stand-in have died before them.
  # A container's process has its own root, under the node's directory:
  # a pid reused since by another process is left alone.
  for file in "$dir"/node/pods/*/containers/*/pid; do
    [ -f "$file" ] || continue
    local pid
    pid="$(cat "$file")"
    case "$(readlink "/proc/$pid/root" 2>/dev/null)" in
      "$dir"/node/pods/*) kill -KILL -- "-$pid" 2>/dev/null || true ;;
    esac
  done
  local etcd_data
  etcd_data="$(cat "$dir/etcd-data" 2>/dev/null || true)"
  if [ -n "$etcd_data" ] && [ -d "$etcd_data" ]; then
    rm -rf "$etcd_data"
  fi
  if [ -f "$dir/pod-network" ]; then
    ip route del local "$(cat "$dir/pod-network")" dev lo 2>/dev/null || true
  fi
  # Logs stay for a look after a failure; the rest goes.
  find "$dir" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  [ "$stopped" -eq 0 ] || echo "control plane stopped" >&2
}

# Waits until the command succeeds; fails fast, with the end of the log
# of process `name`, when that process ends or the deadline passes.
wait_for() {
  local what="$1" seconds="$2" name="$3"
  shift 3
  local log="$dir/logs/$name.log" deadline=$(( $(date +%s) + seconds )) why=""
  until "$@" >/dev/null 2>&1; do
    if ! alive "$dir/pids/$name.pid" "$name"; then
      why="$name exited"
    elif [ "$(date +%s)" -ge "$deadline" ]; then
      why="not within ${seconds}s"
    fi
    if [ -n "$why" ]; then
      echo "cluster.sh: $what: $why; the end of $log:" >&2
      grep -E '^[EF][0-9]{4}|error|Error|fatal' "$log" | tail -n 5 >&2 || tail -n 5 "$log" >&2 || true
      down
      exit 1
    fi
    sleep 0.2
  done
}

milliseconds() {
  date +%s%3N
}

pki() {
  local pki="$dir/pki"
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 7 \
      -subj "/CN=chatbot-operator-e2e-ca" 2>/dev/null
    cat >server.ext <<'EOF'
subjectAltName = IP:127.0.0.1, IP:10.96.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage = serverAuth
EOF
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
      -days 7 -extfile server.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

kubeconfig() {
  local file="$1" user="$2" token="$3" port="$4"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $dir/pki/ca.crt
users:
- name: $user
  user:
    token: $token
contexts:
- name: $user
  context: { cluster: e2e, user: $user }
current-context: $user
EOF
  chmod 600 "$file"
}

# The images run for real, each with this machine's files at the paths
# its image has them: a container sees the host's root, but a fresh /tmp,
# so nothing it runs may live in the clone by its clone path.
images_file() {
  local binary="${CHATBOT_OPERATOR_BINARY:-$root/target/debug/chatbot-operator}" node="$1"
  local pg_bin
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$pg_bin" ] || fail "Postgres is missing (/usr/lib/postgresql/*/bin): install Debian's postgresql"
  local path="$pg_bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  cat >"$dir/images.json" <<EOF
{
  "images": [
    { "repository": "ghcr.io/chatbot-operator/chatbot-operator",
      "files": { "/usr/local/bin/chatbot-operator": "$binary" },
      "entrypoint": ["/usr/local/bin/chatbot-operator"], "cmd": ["run", "--log-format=json"],
      "env": ["PATH=$path"], "user": 65532, "users": { "65532": "nonroot" } },
    { "repository": "ghcr.io/chatbot-operator/chatbot-operator-backup-agent",
      "files": { "/usr/local/bin/chatbot-operator": "$binary" },
      "entrypoint": ["/usr/local/bin/chatbot-operator", "backup-agent"],
      "env": ["PATH=$path"], "user": 999, "users": { "999": "postgres" } },
    { "repository": "ghcr.io/chatbot-operator/echo-bot",
      "files": { "/usr/local/bin/echo-bot": "$node" },
      "entrypoint": ["/usr/local/bin/echo-bot", "echo-bot"], "user": 65532, "users": { "65532": "nonroot" } },
    { "repository": "postgres",
      "files": { "/usr/local/bin/docker-entrypoint.sh": "$root/tests/cluster/node/postgres-entrypoint.sh" },
      "entrypoint": ["docker-entrypoint.sh"], "cmd": ["postgres"],
      "env": ["PATH=$path", "PGDATA=/var/lib/postgresql/data", "STANDIN_POD_IP={podIP}"],
      "user": 999, "users": { "999": "postgres" }, "stopSignal": "SIGINT" }
  ]
}
EOF
}

start() {
  local name="$1" log="$dir/logs/$1.log" pid
  shift
  "$@" >"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/pids/$name.pid"
  # Until it has exec'd, the child is this script under another name, and
  # a check by name would take a process still starting for one that
  # ended: wait (5 s at most) until it runs as itself, or is gone.
  for _ in $(seq 1 100); do
    if alive "$dir/pids/$name.pid" "$name" || ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 0.05
  done
}

up() {
  local version="$1" bin node_bin started
  command -v openssl >/dev/null || fail "openssl is missing"
  command -v etcd >/dev/null || fail "etcd is missing: install Debian's etcd-server"
  command -v python3 >/dev/null || fail "python3 is missing"
  [ "$(id -u)" -eq 0 ] || fail "the node stand-in runs containers in mount namespaces of their own: run as root"
  bin="$(build_kubernetes "$version")"
  node_bin="$(build_node)"
  # One a killed run left behind goes first, from this clone or another.
  if [ -f "$registry" ]; then
    while read -r other; do
      [ -n "$other" ] && [ "$other" != "$dir" ] && CHATBOT_CLUSTER_DIR="$other" "$0" down || true
    done <"$registry"
  fi
  down
  mkdir -p "$dir/pids" "$dir/logs" "$dir/node" "$cache"
  echo "$dir" >>"$registry"
  rm -f "$dir"/logs/*.log
  trap 'echo "cluster.sh: up failed; stopping what it started" >&2; down' ERR

  local etcd_port etcd_peer api_port kubelet_port proxy_port
  read -r proxy_port etcd_port etcd_peer api_port kubelet_port <<<"$(free_ports 5)"
  pki
  local admin_token operator_token kcm_token
  admin_token="$(openssl rand -hex 24)"
  operator_token="$(openssl rand -hex 24)"
  kcm_token="$(openssl rand -hex 24)"
  cat >"$dir/pki/tokens.csv" <<EOF
$admin_token,admin,admin,"system:masters"
$kcm_token,system:kube-controller-manager,kube-controller-manager
$operator_token,$operator_user,chatbot-operator,"system:serviceaccounts,system:serviceaccounts:chatbot-operator-system,system:authenticated"
EOF
  chmod 600 "$dir/pki/tokens.csv"
  cat >"$dir/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    users: ["$operator_user"]
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  - level: None
EOF
  kubeconfig "$dir/admin.kubeconfig" admin "$admin_token" "$api_port"
  kubeconfig "$dir/operator.kubeconfig" chatbot-operator "$operator_token" "$api_port"
  kubeconfig "$dir/kube-controller-manager.kubeconfig" kube-controller-manager "$kcm_token" "$api_port"
  # The node's own copy, where every container's user can run it.
  mkdir -p "$dir/bin"
  cp "$node_bin/node-standin" "$dir/bin/node-standin"
  images_file "$dir/bin/node-standin"
  command -v ip >/dev/null || fail "ip is missing: install Debian's iproute2"
  if ! ip route show table local | grep -q "^local $pod_network "; then
    ip route add local "$pod_network" dev lo || fail "cannot route $pod_network to the loopback interface"
    echo "$pod_network" >"$dir/pod-network"
  fi

  started=$(milliseconds)
  local etcd_data="/dev/shm/chatbot-operator-etcd-$(echo "$dir" | sha256sum | cut -c1-12)"
  rm -rf "$etcd_data"
  echo "$etcd_data" >"$dir/etcd-data"
  start etcd etcd --name e2e --data-dir "$etcd_data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "e2e=http://127.0.0.1:$etcd_peer" --quota-backend-bytes 4294967296
  wait_for "etcd" 30 etcd curl -fsS "http://127.0.0.1:$etcd_port/health"

  start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --endpoint-reconciler-type none \
    --tls-cert-file "$dir/pki/server.crt" --tls-private-key-file "$dir/pki/server.key" \
    --client-ca-file "$dir/pki/ca.crt" \
    --token-auth-file "$dir/pki/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$dir/pki/sa.pub" \
    --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --allow-privileged=true \
    --audit-policy-file "$dir/audit-policy.yaml" --audit-log-path "$dir/audit.log" \
    --audit-log-format json --audit-log-mode blocking
  local readyz=(curl -fsS --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $admin_token" "https://127.0.0.1:$api_port/readyz")
  wait_for "kube-apiserver's /readyz" 120 kube-apiserver "${readyz[@]}"
  local ready_ms=$(( $(milliseconds) - started ))

  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$dir/kube-controller-manager.kubeconfig" \
    --service-account-private-key-file "$dir/pki/sa.key" --root-ca-file "$dir/pki/ca.crt" \
    --use-service-account-credentials=true --leader-elect=false --secure-port 0 \
    --cluster-signing-cert-file "$dir/pki/ca.crt" --cluster-signing-key-file "$dir/pki/ca.key"

  start node-standin "$dir/bin/node-standin" --kubeconfig "$dir/admin.kubeconfig" \
    --state-dir "$dir/node" --images "$dir/images.json" --kubelet-port "$kubelet_port" \
    --pod-network "$pod_network" --service-proxy "127.0.0.1:$proxy_port" \
    --kubelet-version "$version"

  local kubectl=("$bin/kubectl" --kubeconfig "$dir/admin.kubeconfig")
  wait_for "the default namespace's ServiceAccount" 120 kube-controller-manager \
    "${kubectl[@]}" get serviceaccount default -n default
  local account_ms=$(( $(milliseconds) - started ))
  wait_for "a Ready node" 60 node-standin \
    "${kubectl[@]}" wait --for=condition=Ready node/standin --timeout=1s
  # A stand-in that registered its node and then failed (its Service
  # proxy could not listen) must not leave a cluster that looks up.
  sleep 1
  if ! alive "$dir/pids/node-standin.pid" node-standin; then
    echo "cluster.sh: the node stand-in exited; the end of $dir/logs/node-standin.log:" >&2
    tail -n 5 "$dir/logs/node-standin.log" >&2 || true
    down
    exit 1
  fi
  trap - ERR

  cat >"$dir/env" <<EOF
export KUBECONFIG="$dir/admin.kubeconfig"
export E2E_OPERATOR_KUBECONFIG="$dir/operator.kubeconfig"
export E2E_AUDIT_LOG="$dir/audit.log"
export E2E_KUBERNETES_VERSION="$version"
export E2E_SERVICE_PROXY="http://127.0.0.1:$proxy_port"
export PATH="$bin:\$PATH"
EOF
  echo "Kubernetes $version up: /readyz after $((ready_ms / 1000)).$(printf %03d $((ready_ms % 1000))) s, the first namespace's ServiceAccount after $((account_ms / 1000)).$(printf %03d $((account_ms % 1000))) s; to use it: source $dir/env" >&2
}

# Installs the Prometheus Operator's PodMonitor and PrometheusRule CRDs,
# from the files its Go module ships, in the running control plane.
prometheus_operator_crds() {
  [ -f "$dir/env" ] || fail "no control plane is up"
  local module
  module="$(GOFLAGS=-mod=mod go mod download -json "$prometheus_operator" 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin).get("Dir", ""))')" || true
  [ -n "$module" ] || fail "cannot download $prometheus_operator from the Go module proxy"
  # shellcheck disable=SC1091
  source "$dir/env"
  kubectl apply --server-side --force-conflicts \
    -f "$module/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" \
    -f "$module/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" >/dev/null
  kubectl wait --for condition=established --timeout 60s \
    crd/podmonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com >/dev/null
  echo "the Prometheus Operator's CRDs (${prometheus_operator#*@}) are installed" >&2
}

command="${1:-}"
[ $# -gt 0 ] && shift
version="newest"
while [ $# -gt 0 ]; do
  case "$1" in
    --kubernetes) version="${2:?--kubernetes needs a version}"; shift 2 ;;
    --kubernetes=*) version="${1#*=}"; shift ;;
    *) fail "unknown argument $1" ;;
  esac
done

case "$command" in
  up) up "$(resolve_version "$version")" ;;
  down) down ;;
  build)
    build_kubernetes "$(resolve_version "$version")" >/dev/null
    build_node >/dev/null
    ;;
  versions) versions ;;
  env) cat "$dir/env" 2>/dev/null || fail "no control plane is up" ;;
  prometheus-operator-crds) prometheus_operator_crds ;;
  *) fail "usage: scripts/cluster.sh up|down|build|versions|env|prometheus-operator-crds [--kubernetes newest|oldest|VERSION]" ;;
esac
