#!/usr/bin/env bash
# Installs what the test suite needs, then runs all of it: formatting,
# lints and every test that needs no cluster. The end-to-end tests against
# the cluster in KUBECONFIG are separate (see README, "End-to-end tests").
set -euo pipefail
cd "$(dirname "$0")/.."

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
# backup agent dumps and restores.
missing=()
command -v lua5.1 >/dev/null || missing+=(lua5.1)
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

# A full run gains nothing from incremental compilation (CI starts from a
# clean clone) and its caches would double the build's disk footprint.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
