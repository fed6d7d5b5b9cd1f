#!/usr/bin/env python3
"""Render the Helm chart offline for one set of values and check the result.

    render.py CHART [--values FILE ...] [--expect-fail TEXT] [--kube-version 1.30.0]
              [--helm-sdkpy-lib PATH/libhelm_sdkpy.so] [--print]

Rendering engine:
  * `helm` on PATH: `helm lint` + `helm template` (the normal way);
  * otherwise helm-sdkpy's libhelm_sdkpy.so (Helm's Go code, shipped in a PyPI wheel).
    It has no `template` call, so this script lints a temporary copy of the chart with
    one extra template that includes every other template and `fail`s with the result;
    Helm logs the fail message, and we read the manifests back from that log line.

Checks on the rendered manifests:
  * every document parses as YAML and validates against the Kubernetes JSON schemas of
    --kube-version (kubernetes-validate, strict: unknown fields are errors);
  * the chart's own promises (see check_chart_invariants).
"""
import argparse
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

RELEASE = "test-release"

# Prometheus Operator's ServiceMonitor (monitoring.coreos.com/v1), the fields the chart
# renders; unknown fields are errors, as with kubernetes-validate --strict.
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "ServiceMonitor"},
            "metadata": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
                               "namespace": {"type": "string"}, "labels": _LABELS, "annotations": _LABELS},
            },
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["selector", "endpoints"],
                "properties": {
                    "selector": {"type": "object", "additionalProperties": False,
                                 "properties": {"matchLabels": _LABELS}},
                    "endpoints": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "additionalProperties": False, "required": ["port"],
                        "properties": {"port": {"type": "string"}, "path": {"type": "string", "pattern": "^/"},
                                       "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"}}}},
                },
            },
        },
    },
}
NAMESPACE = "scim"


def deep_merge(base, override):
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def render_with_helm(chart, values_files):
    args = []
    for f in values_files:
        args += ["-f", f]
    lint = subprocess.run(["helm", "lint", "--strict", chart, *args], capture_output=True, text=True)
    if lint.returncode != 0:
        return None, lint.stdout + lint.stderr
    out = subprocess.run(
        ["helm", "template", RELEASE, chart, "--namespace", NAMESPACE, *args],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        return None, out.stderr
    return out.stdout, ""


_SDKPY_CHILD = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
handle = ctypes.c_ulonglong()
# A kubeconfig is required to create a configuration; lint never contacts the server.
kubeconfig = (b"apiVersion: v1\nkind: Config\n"
              b"clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
              b"users: [{name: u, user: {token: x}}]\n"
              b"contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n")
if lib.helm_sdkpy_config_create(b"NAMESPACE", kubeconfig, None, None, ctypes.byref(handle)) != 0:
    sys.exit("helm_sdkpy_config_create failed")
out = ctypes.c_char_p()
lib.helm_sdkpy_lint(handle, sys.argv[2].encode(), ctypes.byref(out))
print(out.value.decode() if out.value else "")
""".replace("NAMESPACE", NAMESPACE)


def render_with_helm_sdkpy(chart, values_files, lib):
    tmp = tempfile.mkdtemp(prefix="scim-chart-")
    try:
        copy = os.path.join(tmp, os.path.basename(os.path.normpath(chart)))
        shutil.copytree(chart, copy)
        values_path = os.path.join(copy, "values.yaml")
        with open(values_path) as f:
            values = yaml.safe_load(f) or {}
        for vf in values_files:
            with open(vf) as f:
                deep_merge(values, yaml.safe_load(f) or {})
        with open(values_path, "w") as f:
            yaml.safe_dump(values, f)
        templates = os.path.join(copy, "templates")
        names = sorted(n for n in os.listdir(templates) if n.endswith(".yaml"))
        with open(os.path.join(templates, "zz-render-all.yaml"), "w") as f:
            f.write("{{- $all := list }}\n")
            for n in names:
                f.write('{{- $all = append $all (printf "# Source: %s\\n%s" "' + n
                        + '" (include (print $.Template.BasePath "/' + n + '") $)) }}\n')
            f.write('{{- fail (printf "RENDERED<<%s>>RENDERED" (join "\\n---\\n" $all)) }}\n')
        proc = subprocess.run([sys.executable, "-c", _SDKPY_CHILD, lib, copy],
                              capture_output=True, text=True)
        log = proc.stderr
        # In lint mode Helm does not stop at `fail`/`required`: it logs them
        # ("funcMap fail message=..." / "missing required values message=...") and goes on.
        rendered, errors = None, []
        for m in re.finditer(r'(funcMap fail|missing required values) message="((?:[^"\\]|\\.)*)"', log):
            msg = json.loads('"' + m.group(2) + '"')
            if msg.startswith("RENDERED<<") and msg.endswith(">>RENDERED"):
                rendered = msg[len("RENDERED<<"):-len(">>RENDERED")]
            elif msg not in errors:
                errors.append(msg)
        if errors:
            return None, "\n".join(errors)
        if rendered is None:
            # helm-sdkpy's lint report loses Go error texts ("Err":{}); an error-level
            # message on values.yaml is Helm refusing the values against values.schema.json.
            try:
                report = json.loads(proc.stdout)
            except ValueError:
                report = {}
            if any(m.get("Severity", 0) >= 3 and m.get("Path") == "values.yaml"
                   for m in report.get("Messages", [])):
                return None, "values don't meet the specifications of values.schema.json\n" + proc.stdout
            return None, log + proc.stdout
        return rendered, ""
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_chart_invariants(docs, values_files, expect_ha=False):
    """What the chart promises, whatever the values."""
    problems = []
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    directory = next((d for n, d in deployments.items() if n.endswith("-directory")), None)
    gateway = next((d for n, d in deployments.items() if n.endswith("-gateway")), None)
    if not directory or not gateway:
        return ["expected a directory and a gateway Deployment"]
    job = next(iter(by_kind.get("Job", [])), None)

    def container(dep):
        return dep["spec"]["template"]["spec"]["containers"][0]

    def env_names(c):
        return {e["name"] for e in c.get("env", [])}

    for dep in [directory, gateway] + ([job] if job else []):
        spec = dep["spec"]["template"]["spec"]
        c = spec["containers"][0]
        sc = c.get("securityContext", {})
        if not (spec.get("securityContext", {}).get("runAsNonRoot") and sc.get("readOnlyRootFilesystem")
                and sc.get("capabilities", {}).get("drop") == ["ALL"]
                and sc.get("allowPrivilegeEscalation") is False):
            problems.append(f"{dep['metadata']['name']}: securityContext not locked down")
        if "limits" not in c.get("resources", {}) or "requests" not in c.get("resources", {}):
            problems.append(f"{dep['metadata']['name']}: resources requests/limits missing")

    d = container(directory)
    if d["command"] != ["/usr/local/bin/directory-service"] or d["args"][:3] != ["serve", "--listen", "0.0.0.0:50051"]:
        problems.append(f"directory: unexpected command/args {d['command']} {d['args']}")
    if not {"DATABASE_URL", "DIRECTORY_CREDENTIAL"} <= env_names(d):
        problems.append("directory: DATABASE_URL / DIRECTORY_CREDENTIAL env missing")
    directory_tls = "--tls-cert-file" in d["args"]
    if directory_tls:
        # The kubelet's gRPC probes cannot speak TLS: the admin port's HTTP endpoints.
        for probe, path in (("startupProbe", "/livez"), ("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
            get = d.get(probe, {}).get("httpGet", {})
            if get.get("path") != path or get.get("port") != "metrics" or "grpc" in d.get(probe, {}):
                problems.append(f"directory (TLS): {probe} is not httpGet {path} on the metrics port")
    else:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if d.get(probe, {}).get("grpc", {}).get("port") != 50051:
                problems.append(f"directory: {probe} is not a gRPC probe on 50051")
        # Readiness follows the database; liveness (the empty service) never does.
        if d.get("readinessProbe", {}).get("grpc", {}).get("service") != "directory.v1.Directory":
            problems.append("directory: readinessProbe must check the directory.v1.Directory service")
        if d.get("livenessProbe", {}).get("grpc", {}).get("service"):
            problems.append("directory: livenessProbe must check the process (empty service)")
    skip_flag = "--skip-migrations" in d["args"]
    skip_env = any(e["name"] == "DIRECTORY_SKIP_MIGRATIONS" and e.get("value") == "true" for e in d.get("env", []))
    if bool(job) != skip_flag or bool(job) != skip_env:
        problems.append("directory: --skip-migrations/DIRECTORY_SKIP_MIGRATIONS must be set exactly when the migration Job exists")
    if job:
        hooks = job["metadata"].get("annotations", {}).get("helm.sh/hook", "")
        if set(hooks.split(",")) != {"pre-install", "pre-upgrade"}:
            problems.append(f"migration Job: hook is {hooks!r}")
        jc = container(job)
        if jc["args"] != ["migrate"] or "DATABASE_URL" not in env_names(jc):
            problems.append("migration Job: must run `directory-service migrate` with DATABASE_URL")

    g = container(gateway)
    directory_svc = next((s for s in by_kind.get("Service", []) if s["metadata"]["name"] == directory["metadata"]["name"]), None)
    if not directory_svc:
        problems.append("no Service for the directory")
    expected_url = f"{'https' if directory_tls else 'http'}://{directory['metadata']['name']}:50051"
    if g["args"][:4] != ["--listen", "0.0.0.0:8080", "--directory-url", expected_url]:
        problems.append(f"gateway: unexpected args {g['args']}")
    problems += check_directory_tls(directory, gateway, expected_url)
    if not {"DIRECTORY_CREDENTIAL", "PUBLIC_BASE_URL"} <= env_names(g):
        problems.append("gateway: DIRECTORY_CREDENTIAL / PUBLIC_BASE_URL env missing")
    # Least privilege: the gateway sends its own `gateway` credential, which the directory
    # accepts as DIRECTORY_GATEWAY_CREDENTIAL; it never holds the admin credential.
    def secret_key(c, name):
        ref = next((e.get("valueFrom", {}).get("secretKeyRef", {}) for e in c.get("env", []) if e["name"] == name), {})
        return ref.get("key")
    gateway_key = secret_key(g, "DIRECTORY_CREDENTIAL")
    if gateway_key is None or gateway_key == secret_key(d, "DIRECTORY_CREDENTIAL"):
        problems.append("gateway: must send its own gateway credential, not the directory's admin credential")
    if gateway_key != secret_key(d, "DIRECTORY_GATEWAY_CREDENTIAL"):
        problems.append("directory: DIRECTORY_GATEWAY_CREDENTIAL must be the key the gateway sends")
    for probe, path in (("startupProbe", "/livez"), ("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
        if g.get(probe, {}).get("httpGet", {}).get("path") != path:
            problems.append(f"gateway: {probe} is not httpGet {path}")
    for dep, c in ((directory, d), (gateway, g)):
        args = c["args"]
        if "--metrics-addr" not in args:
            problems.append(f"{dep['metadata']['name']}: no --metrics-addr")
        grace = dep["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        drain = next((int(a) for i, a in enumerate(args[1:]) if args[i] == "--shutdown-grace-secs"), None)
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        drain = drain if drain is not None else int(env.get("GATEWAY_SHUTDOWN_GRACE_SECS") or 0)
        if drain >= grace:
            problems.append(f"{dep['metadata']['name']}: drain ({drain} s) must end before terminationGracePeriodSeconds ({grace} s)")
    # Without Redis, each gateway enforces perToken / GATEWAY_REPLICAS: it must be the real count.
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind.get("HorizontalPodAutoscaler", [])}
    def replicas(dep):
        hpa = hpas.get(dep["metadata"]["name"])
        if hpa:
            if "replicas" in dep["spec"]:
                problems.append(f"{dep['metadata']['name']}: replicas set although an HPA scales it")
            return hpa["spec"]["minReplicas"]
        return dep["spec"].get("replicas", 1)
    genv = {e["name"]: e.get("value") for e in g.get("env", [])}
    if genv.get("GATEWAY_REPLICAS") != str(replicas(gateway)):
        problems.append(f"gateway: GATEWAY_REPLICAS={genv.get('GATEWAY_REPLICAS')} but {replicas(gateway)} replicas")
    # A PDB must leave room for a drain: replicas > minAvailable.
    for pdb in by_kind.get("PodDisruptionBudget", []):
        dep = deployments.get(pdb["metadata"]["name"])
        if dep and isinstance(pdb["spec"].get("minAvailable"), int) and replicas(dep) <= pdb["spec"]["minAvailable"]:
            problems.append(f"PodDisruptionBudget {pdb['metadata']['name']}: minAvailable {pdb['spec']['minAvailable']} blocks every drain with {replicas(dep)} replicas")
    if expect_ha:
        pdbs = {p["metadata"]["name"] for p in by_kind.get("PodDisruptionBudget", [])}
        for dep in (directory, gateway):
            name = dep["metadata"]["name"]
            if replicas(dep) < 2 or name not in pdbs:
                problems.append(f"{name}: production shape needs >= 2 replicas and a PodDisruptionBudget")
        policies = {p["metadata"]["name"]: p for p in by_kind.get("NetworkPolicy", [])}
        policy = policies.get(directory["metadata"]["name"])
        if not policy:
            problems.append("no NetworkPolicy for the directory")
        else:
            grpc_rule = next((r for r in policy["spec"]["ingress"] if any(p.get("port") == 50051 for p in r.get("ports", []))), None)
            if not grpc_rule or not grpc_rule.get("from"):
                problems.append("directory NetworkPolicy: gRPC port open to everyone")

    # Every secretKeyRef points at a Secret the chart renders or at the existingSecret value.
    secrets = {s["metadata"]["name"] for s in by_kind.get("Secret", [])}
    for s in by_kind.get("Secret", []):
        if "pre-install" not in s["metadata"].get("annotations", {}).get("helm.sh/hook", ""):
            problems.append("chart-created Secret must be a pre-install hook (the migration Job needs it)")
    for dep in [directory, gateway] + ([job] if job else []):
        for e in container(dep).get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and not secrets and ref["name"] == "":
                problems.append(f"{dep['metadata']['name']}: empty Secret name")
            if ref and secrets and ref["name"] not in secrets:
                problems.append(f"{dep['metadata']['name']}: Secret {ref['name']} is not the chart's")
    # Selectors match pod labels.
    for dep in deployments.values():
        sel = dep["spec"]["selector"]["matchLabels"]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        if any(labels.get(k) != v for k, v in sel.items()):
            problems.append(f"{dep['metadata']['name']}: selector does not match pod labels")
    for svc in by_kind.get("Service", []) + by_kind.get("PodDisruptionBudget", []):
        sel = svc["spec"]["selector"]
        sel = sel.get("matchLabels", sel)
        if not any(all(dep["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in sel.items())
                   for dep in deployments.values()):
            problems.append(f"{svc['kind']} {svc['metadata']['name']}: selector matches no Deployment")
    return problems


def check_directory_tls(directory, gateway, url):
    """TLS on the gateway -> directory hop: every file a container is told to read is
    mounted; the gateway trusts the CA and (mutual TLS) presents its own certificate, never
    holding the directory's key; scimctl in the directory pod dials the Service name, which
    hostAliases points at the pod itself."""
    problems = []
    spec = {dep["metadata"]["name"]: dep["spec"]["template"]["spec"] for dep in (directory, gateway)}
    d = spec[directory["metadata"]["name"]]["containers"][0]
    g = spec[gateway["metadata"]["name"]]["containers"][0]
    tls = "--tls-cert-file" in d["args"]
    mtls = "--tls-client-ca-file" in d["args"]
    for dep in (directory, gateway):
        pod = spec[dep["metadata"]["name"]]
        c = pod["containers"][0]
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        files = [a for a in c["args"] if a.startswith("/etc/scim/")]
        files += [e["value"] for e in c.get("env", []) if e["name"].endswith("_FILE") and "value" in e]
        for path in files:
            mount = next((m for m in mounts if path.startswith(m.rstrip("/") + "/")), None)
            if not mount:
                problems.append(f"{dep['metadata']['name']}: {path} is not on any volume mount")
                continue
            volume = volumes.get(mounts[mount], {})
            items = volume.get("secret", {}).get("items")
            key = path[len(mount.rstrip("/")) + 1:]
            if items is not None and key not in {i["path"] for i in items}:
                problems.append(f"{dep['metadata']['name']}: {path} is not among the mounted Secret items")
    genv = {e["name"]: e.get("value") for e in g.get("env", [])}
    denv = {e["name"]: e.get("value") for e in d.get("env", [])}
    if tls != bool(genv.get("DIRECTORY_TLS_CA_FILE")):
        problems.append("gateway: DIRECTORY_TLS_CA_FILE must be set exactly when the directory serves TLS")
    for client, env in (("gateway", genv), ("scimctl (directory pod)", denv)):
        has_cert = bool(env.get("DIRECTORY_TLS_CLIENT_CERT_FILE")) and bool(env.get("DIRECTORY_TLS_CLIENT_KEY_FILE"))
        if mtls != has_cert:
            problems.append(f"{client}: a client certificate must be configured exactly with mutual TLS")
    if tls:
        gvolumes = spec[gateway["metadata"]["name"]].get("volumes", [])
        if any(v.get("secret", {}).get("secretName") == next(
                (dv["secret"]["secretName"] for dv in spec[directory["metadata"]["name"]]["volumes"]
                 if dv["name"] == "directory-tls"), None)
               and [i["key"] for i in v["secret"].get("items", [{"key": "*"}])] != ["ca.crt"]
               for v in gvolumes):
            problems.append("gateway: mounts more of the directory's TLS Secret than ca.crt")
        if denv.get("DIRECTORY_URL") != url:
            problems.append(f"directory pod: DIRECTORY_URL (scimctl) must be {url}")
        aliases = spec[directory["metadata"]["name"]].get("hostAliases", [])
        if not any(a.get("ip") == "127.0.0.1" and directory["metadata"]["name"] in a.get("hostnames", [])
                   for a in aliases):
            problems.append("directory pod: hostAliases must point its Service name at 127.0.0.1 for scimctl")
        if not denv.get("DIRECTORY_TLS_CA_FILE"):
            problems.append("directory pod: scimctl needs DIRECTORY_TLS_CA_FILE")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chart")
    ap.add_argument("--values", action="append", default=[])
    ap.add_argument("--expect-fail", help="rendering must fail with a message containing this")
    ap.add_argument("--kube-version", default="1.30.0")
    ap.add_argument("--helm-sdkpy-lib")
    ap.add_argument("--print", action="store_true", help="print the rendered manifests")
    ap.add_argument("--expect-ha", action="store_true",
                    help="the production shape: >= 2 replicas, PDBs and NetworkPolicies")
    a = ap.parse_args()

    if shutil.which("helm"):
        engine = "helm"
        text, err = render_with_helm(a.chart, a.values)
    elif a.helm_sdkpy_lib:
        engine = "helm-sdkpy"
        text, err = render_with_helm_sdkpy(a.chart, a.values, a.helm_sdkpy_lib)
    else:
        sys.exit("no helm on PATH and no --helm-sdkpy-lib given")

    label = ", ".join(os.path.basename(v) for v in a.values) or "chart defaults"
    if a.expect_fail:
        if text is None and a.expect_fail in err:
            print(f"ok   [{engine}] {label}: fails as expected ({a.expect_fail!r})")
            return 0
        print(f"FAIL [{engine}] {label}: expected failure containing {a.expect_fail!r}, got: {err or 'success'}")
        return 1
    if text is None:
        print(f"FAIL [{engine}] {label}: rendering failed:\n{err}")
        return 1
    if a.print:
        print(text)

    import kubernetes_validate  # imported late: only needed here
    try:
        docs = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as e:
        print(f"FAIL [{engine}] {label}: rendered output is not valid YAML (rerun with --print):\n{e}")
        return 1
    problems = []
    for d in docs:
        crd_schema = CRD_SCHEMAS.get((d.get("apiVersion"), d.get("kind")))
        if crd_schema:
            # Not a built-in kind: checked against the chart's own strict schema of the CRD
            # fields it uses (kubernetes-validate only knows Kubernetes' own kinds).
            import jsonschema
            for e in jsonschema.Draft7Validator(crd_schema).iter_errors(d):
                path = "/".join(str(p) for p in e.absolute_path)
                problems.append(f"{d.get('kind')} {d.get('metadata', {}).get('name')}: {path}: {e.message}")
            continue
        try:
            kubernetes_validate.validate(d, a.kube_version, strict=True)
        except Exception as e:  # ValidationError, InvalidSchemaError, ...
            first_line = (getattr(e, "message", None) or str(e)).splitlines()[0]
            path = "/".join(str(p) for p in getattr(e, "absolute_path", []) or [])
            problems.append(f"{d.get('kind')} {d.get('metadata', {}).get('name')}: {path}: {first_line}")
    problems += check_chart_invariants(docs, a.values, a.expect_ha)
    kinds = ", ".join(sorted(f"{d['kind']}" for d in docs))
    if problems:
        print(f"FAIL [{engine}] {label}:")
        for p in problems:
            print(f"   - {p}")
        return 1
    print(f"ok   [{engine}] {label}: {len(docs)} objects valid for Kubernetes {a.kube_version} ({kinds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
