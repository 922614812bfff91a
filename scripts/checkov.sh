#!/usr/bin/env bash
# Checks what `render` prints for every sample with checkov (PyPI, in its
# own virtual environment under target/, as its pinned dependencies would
# fight the suite's moto). The backup, verify and restore Jobs must pass
# every check but four deliberate choices:
#   CKV_K8S_43 image by digest, CKV_K8S_15 pull policy Always: the team's
#     choice of agent image and registry;
#   CKV_K8S_35 Secrets as environment: the app contract (DATABASE_URL, S3
#     keys) and the agent read them so, and they never reach argv or logs;
#   CKV_K8S_11 CPU limits: a throttled dump holds its snapshot (and the
#     database's vacuum horizon) longer; docs/backups.md says so.
# Usage: scripts/checkov.sh [chatbot-operator binary]
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${1:-target/debug/chatbot-operator}
python=${PYTHON:-python3}
requirement='checkov>=3.2,<4'
venv=target/checkov
if ! "$venv/bin/python" - "$requirement" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
from pip._vendor.packaging.requirements import Requirement
wanted = Requirement(sys.argv[1])
sys.exit(0 if wanted.specifier.contains(version(wanted.name)) else 1)
PY
  echo "installing $requirement (PyPI) into $venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement"
fi

rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
for sample in manifests/samples/*.yaml; do
  "$binary" render -f "$sample" > "$rendered/$(basename "$sample")"
done
report="$rendered/report.json"
"$venv/bin/checkov" -d "$rendered" --framework kubernetes --skip-download --compact -o json > "$report" || true

echo "checkov $("$venv/bin/checkov" --version)"
"$python" - "$report" <<'PY'
import json, sys
allowed = {"CKV_K8S_43", "CKV_K8S_15", "CKV_K8S_35", "CKV_K8S_11"}
report = json.load(open(sys.argv[1]))
reports = report if isinstance(report, list) else [report]
checked, findings = 0, []
for part in reports:
    results = part.get("results", {})
    for outcome in ("passed_checks", "failed_checks"):
        for check in results.get(outcome, []):
            resource = check["resource"]
            # Job.<namespace>.<name>-backup, and the Pod checkov derives from it.
            component = next((c for c in ("backup", "verify", "restore") if f"-{c}" in resource), None)
            if component is None:
                continue
            checked += 1
            if outcome == "failed_checks" and check["check_id"] not in allowed:
                findings.append(f'{resource}: {check["check_id"]} {check["check_name"]}')
if checked == 0:
    sys.exit("checkov: no check ran on a backup, verify or restore Job")
if findings:
    print("\n".join(findings))
    sys.exit(f"checkov: {len(findings)} finding(s) on backup, verify or restore pods")
print(f"checkov: {checked} checks on backup, verify and restore pods, no finding but {', '.join(sorted(allowed))}")
PY
