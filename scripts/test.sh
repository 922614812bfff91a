#!/usr/bin/env bash
# Installs what the test suite needs, then runs all of it: formatting,
# lints, every test that needs no cluster, and the end-to-end suites on a
# real control plane (scripts/cluster.sh): every suite on the newest
# Kubernetes pinned under tests/cluster/kubernetes, and on the oldest
# (the README's floor); the rollout and sample tests once more with the
# Prometheus Operator's CRDs installed. It fails when an end-to-end test
# fails or is ignored. Each phase's time is printed as it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

phase_started=$(date +%s)
phase() {
  local now
  now=$(date +%s)
  echo "== $1: $((now - phase_started)) s"
  phase_started=$now
}

python=${PYTHON:-python3}
# Python packages, by the version ranges the suite is tested with: a
# machine that already carries an older one (images ship moto 5.2.1, whose
# ElastiCache ModifyReplicationGroup answers HTTP 500) gets the range
# installed over it. pip changes nothing when the installed version fits.
#   kubernetes-validate: the Kubernetes OpenAPI schemas rendered children
#     are validated against (tested with 1.37; it ships the 1.25 to 1.37 schemas).
#   moto[server]: the AWS API emulator managed stores are tested against,
#     started by the tests on free loopback ports and stopped by pid
#     (tested with 5.2.5).
requirements=('kubernetes-validate>=1.33,<2' 'moto[server]>=5.2.5,<6')
if ! "$python" - "${requirements[@]}" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
from pip._vendor.packaging.requirements import Requirement
for line in sys.argv[1:]:
    wanted = Requirement(line)
    if not wanted.specifier.contains(version(wanted.name), prereleases=True):
        sys.exit(1)
PY
  echo "installing ${requirements[*]} (PyPI)"
  "$python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
fi
"$python" - <<'PY'
from importlib.metadata import version
print("using moto", version("moto"), "and kubernetes-validate", version("kubernetes-validate"))
PY
# pip's script directory may not be on PATH (user installs).
PATH="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin:$PATH"
export PATH
hash -r

# Debian packages: Lua 5.1 runs the Argo CD health check; Prometheus is
# what rollout analysis and the dashboards' queries are tested against, and
# its promtool checks and unit-tests the generated alerting rules (tested
# with Debian 12's 2.42); Postgres (server and client tools) is what the
# backup agent dumps and restores; Redis (7.x) runs the in-cluster cache's
# command line as rendered.
missing=()
case "$( (redis-server --version 2>/dev/null || true) | sed -n 's/.* v=\([0-9]*\)\..*/\1/p')" in
  7) command -v redis-cli >/dev/null || missing+=(redis-tools) ;;
  *) missing+=(redis-server redis-tools) ;;
esac
command -v lua5.1 >/dev/null || missing+=(lua5.1)
# The end-to-end control plane: etcd (tested with Debian 12's 3.4), and
# what scripts/cluster.sh uses to start it and route pods' addresses.
etcd_version="$( (etcd --version 2>/dev/null || true) | awk '/^etcd Version/ { print $3 }')"
case "$etcd_version" in
  3.4.* | 3.5.* | 3.6.*) ;;
  *) missing+=(etcd-server) ;;
esac
command -v ip >/dev/null || missing+=(iproute2)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing+=(prometheus)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v pg_restore >/dev/null; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian)"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go builds Kubernetes and the node stand-in from the module proxy: the
# go.mod files name the Go they need (1.26), which a newer go builds too.
go_version="$(go env GOVERSION 2>/dev/null || true)"
case "$go_version" in
  go1.2[6-9]* | go1.[3-9][0-9]*) ;;
  *)
    echo "test.sh: Go 1.26 or newer is needed to build the control plane (found ${go_version:-none})" >&2
    exit 1
    ;;
esac
phase "tools"

# The node stand-in's own tests and formatting, then the control planes:
# built once per release and cached outside the clone.
unformatted="$(gofmt -l tests/cluster/node)"
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change $unformatted" >&2
  exit 1
fi
(cd tests/cluster/node && go vet ./... && go test ./...)
./scripts/cluster.sh build --kubernetes newest
phase "Kubernetes $(./scripts/cluster.sh versions | tail -n 1): module download and build"
./scripts/cluster.sh build --kubernetes oldest
phase "Kubernetes $(./scripts/cluster.sh versions | head -n 1): module download and build"

# A full run gains nothing from incremental compilation (CI starts from a
# clean clone) and its caches would double the build's disk footprint.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --no-run
phase "Rust build"
cargo test --locked
phase "in-memory suite"
# The rendered samples' backup, verify and restore pods against checkov.
./scripts/checkov.sh target/debug/chatbot-operator
phase "checkov"

# End to end. Each suite's summary line is checked: a suite that ran no
# test, failed one or left one ignored fails the run.
trap './scripts/cluster.sh down' EXIT
summaries=()
run_e2e() {
  local label="$1" suite="$2"
  shift 2
  local log
  log="$(mktemp)"
  local status=0
  cargo test --locked --test "$suite" -- --include-ignored --test-threads 4 "$@" 2>&1 | tee "$log" || status=$?
  local result
  result="$(grep -E '^test result: ' "$log" | tail -n 1)"
  rm -f "$log"
  local passed failed ignored
  passed="$(echo "$result" | sed -nE 's/.* ([0-9]+) passed.*/\1/p')"
  failed="$(echo "$result" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')"
  ignored="$(echo "$result" | sed -nE 's/.* ([0-9]+) ignored.*/\1/p')"
  summaries+=("$label $suite: ${passed:-0} passed / ${failed:-?} failed / ${ignored:-?} ignored")
  if [ "$status" -ne 0 ] || [ "${passed:-0}" -eq 0 ] || [ "${failed:-1}" -ne 0 ] || [ "${ignored:-1}" -ne 0 ]; then
    printf '%s\n' "${summaries[@]}"
    echo "test.sh: end-to-end suite $suite on $label did not pass cleanly" >&2
    exit 1
  fi
}

for version in newest oldest; do
  ./scripts/cluster.sh up --kubernetes "$version"
  # shellcheck disable=SC1091
  source target/cluster/env
  for suite in e2e_admission e2e_operator e2e_rollouts e2e_maintenance; do
    run_e2e "Kubernetes $E2E_KUBERNETES_VERSION" "$suite"
  done
  if [ "$version" = newest ]; then
    # The same rollouts and samples where the Prometheus Operator's kinds
    # are served: their PodMonitors and PrometheusRules are applied.
    ./scripts/cluster.sh prometheus-operator-crds
    run_e2e "Kubernetes $E2E_KUBERNETES_VERSION with the Prometheus Operator's CRDs" e2e_rollouts a_new_image_rolls_out
    run_e2e "Kubernetes $E2E_KUBERNETES_VERSION with the Prometheus Operator's CRDs" e2e_operator every_sample_applies
  fi
  ./scripts/cluster.sh down
  phase "end to end on Kubernetes $E2E_KUBERNETES_VERSION"
done
printf '%s\n' "${summaries[@]}"
