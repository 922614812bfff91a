#!/usr/bin/env bash
# Installs what the test suite needs, then runs all of it: formatting,
# lints and every test that needs no cluster. The end-to-end tests against
# the cluster in KUBECONFIG are separate (see README, "End-to-end tests").
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
# Kubernetes OpenAPI schemas for validating rendered children.
if ! "$python" -c 'import kubernetes_validate' 2>/dev/null; then
  echo "installing kubernetes-validate (PyPI)"
  "$python" -m pip install --quiet --disable-pip-version-check 'kubernetes-validate>=1.32'
fi

# The AWS API emulator that managed stores are tested against (moto in
# server mode); tests start it on free loopback ports and stop it by pid.
if ! command -v moto_server >/dev/null; then
  echo "installing moto[server] (PyPI)"
  "$python" -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6'
  hash -r
fi
if ! command -v moto_server >/dev/null; then
  # pip's script directory may not be on PATH (user installs).
  PATH="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin:$PATH"
  export PATH
fi

# Debian packages: Lua 5.1 runs the Argo CD health check; Prometheus is
# what rollout analysis is tested against.
missing=()
command -v lua5.1 >/dev/null || missing+=(lua5.1)
command -v prometheus >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian)"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
