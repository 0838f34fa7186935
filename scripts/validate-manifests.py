#!/usr/bin/env python3
"""Validates every Kubernetes manifest the repository ships or produces against
the official Kubernetes OpenAPI schemas (kubernetes-validate, strict, offline),
renders and lints the Helm chart with the Helm engine (helm-python-sdk, no
helm binary), and checks docker-compose.yml against the compose spec.

    scripts/validate-manifests.py [--pods-dir DIR] [--kube-version 1.33.0]

--pods-dir holds the Pod specs the operator tests dumped
(OPERATOR_TEST_POD_DUMP_DIR). Needs the packages `make deps-k8s` installs into
$KATALUSIS_VENV (default /opt/katalusis-venv). Exits non-zero on any problem.
"""

from __future__ import annotations

import argparse
import copy
import glob
import json
import os
import subprocess
import sys

import kubernetes_validate
import yaml
from helm_python.chart import Chart, lint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHART = os.path.join(ROOT, "charts", "katalusis")
SECRETS = {"secrets": {"databaseUrl": "mysql://katalusis:pw@mysql:3306/katalusis", "jwtSecret": "j" * 40,
                       "secretKey": "a2F0YWx1c2lzLXZhbGlkYXRlLW1hbmlmZXN0cy1rZXk="}}
VALUE_SETS = {
    "defaults": SECRETS,
    "ingress-tls-existing-secret": {
        "secrets": {"existingSecret": "katalusis-secrets"},
        "api": {"ingress": {"enabled": True, "tls": True, "className": "nginx"},
                "env": {"KATALUSIS_LOG": "debug"}},
        "images": {"allowList": ["registry.example/nodes/pandas:1"]},
    },
    "compose-kind": {"api": {"enabled": False},
                     "networkPolicies": {"externalIngest": {"cidrs": ["172.18.0.5/32"], "port": 8080}}},
    "local-executor": {**SECRETS, "api": {"executor": "local"}, "operator": {"replicas": 2}},
    "metrics-servicemonitor": {**SECRETS, "metrics": {"scrapeAnnotations": False,
                               "serviceMonitor": {"enabled": True, "interval": "15s",
                                                  "labels": {"release": "prometheus"}}}},
    "replicas-3": {**SECRETS, "api": {"replicas": 3, "topologySpread": {"zone": True},
                                      "env": {"KATALUSIS_LEASE_TTL_SECONDS": "10"}}},
    "replicas-2-pdb-percent": {**SECRETS, "api": {"replicas": 2, "executor": "local",
                                                  "podDisruptionBudget": {"maxUnavailable": "50%"},
                                                  "topologySpread": {"enabled": False}, "preStopSleepSeconds": 0}},
}
# Values the chart's values.schema.json must refuse.
BAD_VALUES = {
    "unknown executor": {**SECRETS, "api": {"executor": "docker"}},
    "short JWT secret": {"secrets": {"databaseUrl": "mysql://x", "jwtSecret": "short"}},
    "unknown key": {**SECRETS, "operatr": {}},
    "bad pull policy": {**SECRETS, "images": {"pullPolicy": "Sometimes"}},
    "ingest range wider than one address": {**SECRETS, "networkPolicies": {"externalIngest": {"cidrs": ["10.0.0.0/8"]}}},
    "bad scrape interval": {**SECRETS, "metrics": {"serviceMonitor": {"enabled": True, "interval": "often"}}},
    "no API replicas": {**SECRETS, "api": {"replicas": 0}},
    "disruption budget that allows none": {**SECRETS, "api": {"podDisruptionBudget": {"maxUnavailable": 0}}},
    "unknown spread key": {**SECRETS, "api": {"topologySpread": {"region": True}}},
}

failures: list[str] = []
checked = 0


def check_service_monitor(doc: dict, where: str, services: list[dict]) -> None:
    """The Prometheus Operator's CRD is not in the Kubernetes schemas: check
    the fields it needs, and that each one selects a Service with a `metrics` port."""
    global checked
    spec = doc.get("spec", {})
    labels = spec.get("selector", {}).get("matchLabels", {})
    endpoints = spec.get("endpoints", [])
    problems = []
    if doc.get("apiVersion") != "monitoring.coreos.com/v1":
        problems.append("apiVersion must be monitoring.coreos.com/v1")
    if not labels or not endpoints:
        problems.append("needs spec.selector.matchLabels and spec.endpoints")
    selected = [s for s in services
                if labels.items() <= s.get("metadata", {}).get("labels", {}).items()]
    if len(selected) != 1:
        problems.append(f"selects {len(selected)} Services, expected exactly 1")
    for e in endpoints:
        ports = [p.get("name") for s in selected for p in s["spec"]["ports"]]
        if e.get("port") not in ports:
            problems.append(f"endpoint port {e.get('port')!r} is not a port of the selected Service")
    if problems:
        failures.append(f"{where}: ServiceMonitor/{doc['metadata']['name']}: {problems}")
    checked += 1


def check_metrics(docs: list[dict], values: dict, where: str) -> None:
    """Metrics are served on their own port, annotated for scraping when asked,
    and never routed by the Ingress."""
    annotate = values.get("metrics", {}).get("scrapeAnnotations", True)
    for d in docs:
        if d["kind"] == "Deployment":
            ann = d["spec"]["template"]["metadata"].get("annotations", {})
            if (ann.get("prometheus.io/scrape") == "true") != annotate:
                failures.append(f"{where}: {d['metadata']['name']} scrape annotations do not follow metrics.scrapeAnnotations")
            ports = {p["name"]: p["containerPort"] for c in d["spec"]["template"]["spec"]["containers"]
                     for p in c.get("ports", [])}
            if annotate and str(ports.get("metrics")) != ann.get("prometheus.io/port"):
                failures.append(f"{where}: {d['metadata']['name']} annotates a port it does not serve metrics on")
        if d["kind"] == "ConfigMap" and "KATALUSIS_BIND" in d.get("data", {}):
            if d["data"].get("KATALUSIS_METRICS_ADDR", "").split(":")[-1] == d["data"]["KATALUSIS_BIND"].split(":")[-1]:
                failures.append(f"{where}: the API serves metrics on its public port")
        if d["kind"] == "Ingress":
            for rule in d["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    if path["backend"]["service"]["port"].get("name") != "http":
                        failures.append(f"{where}: the Ingress routes a port other than http")


def check_replicas(docs: list[dict], values: dict, where: str) -> None:
    """The API Deployment names each replica after its Pod; with more than one
    replica a PodDisruptionBudget covers exactly the API Pods, updates roll
    without stopping a ready Pod first, and the Pods spread over nodes."""
    global checked
    api = merged(values)["api"]
    if not api.get("enabled", True):
        return
    deployments = [d for d in docs if d["kind"] == "Deployment"
                   and d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "api"]
    pdbs = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    problems = []
    if len(deployments) != 1:
        failures.append(f"{where}: {len(deployments)} API Deployments, expected 1")
        return
    dep = deployments[0]
    pod = dep["spec"]["template"]
    labels = pod["metadata"]["labels"]
    spec = pod["spec"]
    (container,) = [c for c in spec["containers"] if c["name"] == "api"]
    replica_id = [e for e in container.get("env", []) if e["name"] == "KATALUSIS_REPLICA_ID"]
    if [e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in replica_id] != ["metadata.name"]:
        problems.append("KATALUSIS_REPLICA_ID is not set from the Pod name")
    probe = container.get("readinessProbe", {})
    if probe.get("httpGet", {}).get("path") != "/readyz" or probe.get("periodSeconds", 10) > 5:
        problems.append("the readiness probe is not /readyz every 5 s or less")
    if container.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
        problems.append("the liveness probe is not /healthz")
    sleep = api.get("preStopSleepSeconds", 0)
    if spec.get("terminationGracePeriodSeconds", 30) <= sleep:
        problems.append("terminationGracePeriodSeconds leaves no time after the preStop sleep")
    if dep["spec"]["replicas"] != api["replicas"]:
        problems.append(f"replicas {dep['spec']['replicas']}, values say {api['replicas']}")
    if api["replicas"] > 1:
        rolling = dep["spec"].get("strategy", {}).get("rollingUpdate", {})
        if rolling.get("maxUnavailable") != 0 or rolling.get("maxSurge") != 1:
            problems.append(f"rolling update is {rolling}, expected maxUnavailable 0 and maxSurge 1")
        if len(pdbs) != 1:
            problems.append(f"{len(pdbs)} PodDisruptionBudgets, expected 1")
        for pdb in pdbs:
            selector = pdb["spec"]["selector"]["matchLabels"]
            if not selector.items() <= labels.items() or selector != dep["spec"]["selector"]["matchLabels"]:
                problems.append("the PodDisruptionBudget does not select exactly the API Pods")
            if pdb["spec"].get("maxUnavailable") != api["podDisruptionBudget"]["maxUnavailable"]:
                problems.append("the PodDisruptionBudget's maxUnavailable does not follow the values")
        spread = spec.get("topologySpreadConstraints", [])
        keys = {c["topologyKey"] for c in spread}
        want = set()
        if api["topologySpread"]["enabled"]:
            want.add("kubernetes.io/hostname")
            if api["topologySpread"].get("zone"):
                want.add("topology.kubernetes.io/zone")
        if keys != want:
            problems.append(f"spread over {sorted(keys)}, expected {sorted(want)}")
        for c in spread:
            if c["whenUnsatisfiable"] != "ScheduleAnyway" or not c["labelSelector"]["matchLabels"].items() <= labels.items():
                problems.append(f"spread constraint {c['topologyKey']} is not ScheduleAnyway over the API Pods")
    elif pdbs or spec.get("topologySpreadConstraints"):
        problems.append("one replica renders a PodDisruptionBudget or spread constraints")
    for p in problems:
        failures.append(f"{where}: {p}")
    checked += 1


def check(doc: dict, where: str, version: str) -> None:
    global checked
    try:
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as e:
        failures.append(f"{where}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}: {e}")


def docs_of(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def validate_crds(version: str) -> None:
    files = sorted(glob.glob(os.path.join(ROOT, "crds/yaml/*.yaml")) +
                   glob.glob(os.path.join(CHART, "crds/*.yaml")))
    if len(files) < 4:
        failures.append(f"expected 4 CRD files, found {files}")
    for path in files:
        with open(path, encoding="utf-8") as f:
            for doc in docs_of(f.read()):
                check(doc, os.path.relpath(path, ROOT), version)


def merged(values: dict) -> dict:
    with open(os.path.join(CHART, "values.yaml"), encoding="utf-8") as f:
        base = yaml.safe_load(f)

    def merge(a: dict, b: dict) -> dict:
        out = copy.deepcopy(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        return out
    return merge(base, values)


# Ranges no node Pod may reach through an ipBlock (cluster, private, link-local).
FORBIDDEN_EGRESS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
                    "127.0.0.0/8")


def egress_problems(policy: dict) -> list[str]:
    """Why a node Pod's egress policy is too open (empty when it is fine).

    No allow-all rule (`{}` or a rule without `to`), and every ipBlock
    leaves out the private, link-local and loopback ranges.
    """
    import ipaddress
    problems = []
    for rule in policy.get("spec", {}).get("egress") or []:
        if not rule.get("to"):
            problems.append(f"allow-all egress rule {rule}")
            continue
        for peer in rule["to"]:
            block = peer.get("ipBlock")
            if not block:
                continue
            net = ipaddress.ip_network(block["cidr"])
            if rule.get("ports") and net.num_addresses == 1:
                continue    # one address on given ports: the external ingest endpoint
            excepted = [ipaddress.ip_network(c) for c in block.get("except") or []]
            for bad in map(ipaddress.ip_network, FORBIDDEN_EGRESS):
                if bad.version != net.version or not bad.overlaps(net):
                    continue
                if not any(e.version == bad.version and bad.subnet_of(e) for e in excepted):
                    problems.append(f"ipBlock {block['cidr']} does not except {bad}")
    return problems


def check_node_egress(policy: dict, where: str) -> None:
    global checked
    selector = policy.get("spec", {}).get("podSelector", {}).get("matchLabels", {})
    if selector.get("app.kubernetes.io/managed-by") != "katalusis-operator":
        return
    if "Egress" not in policy["spec"].get("policyTypes", []):
        return
    checked += 1
    for problem in egress_problems(policy):
        failures.append(f"{where} ({policy['metadata']['name']}): {problem}")


def self_check_egress() -> None:
    """The egress check itself must catch the policies it exists for."""
    allow_all = {"spec": {"egress": [{}]}}
    no_except = {"spec": {"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}]}}
    if not egress_problems(allow_all) or not egress_problems(no_except):
        failures.append("the node egress check accepts an allow-all or private-range policy")


def validate_chart(version: str) -> None:
    chart = Chart.load(CHART)
    for label, values in VALUE_SETS.items():
        report = lint(CHART, values, strict=True, namespace="katalusis", kube_version=f"v{version}")
        problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
        problems += report.get("errors", [])
        if problems:
            failures.append(f"helm lint ({label}): {problems}")
        rendered = chart.render(values, name="katalusis", namespace="katalusis", is_install=True)
        kinds = []
        all_docs = [d for t, x in rendered.items() if not t.endswith("NOTES.txt") for d in docs_of(x)]
        services = [d for d in all_docs if d["kind"] == "Service"]
        check_metrics(all_docs, values, f"chart[{label}]")
        check_replicas(all_docs, values, f"chart[{label}]")
        for template, text in sorted(rendered.items()):
            if template.endswith("NOTES.txt"):
                if "first administrator" not in text:
                    failures.append(f"{label}: NOTES.txt lacks the first-login steps")
                continue
            for doc in docs_of(text):
                kinds.append(doc["kind"])
                if doc["kind"] == "ServiceMonitor":
                    check_service_monitor(doc, f"chart[{label}] {template}", services)
                    continue
                check(doc, f"chart[{label}] {template}", version)
                if doc["kind"] == "NetworkPolicy":
                    check_node_egress(doc, f"chart[{label}] {template}")
        expect = {"Deployment", "Role", "RoleBinding", "ServiceAccount"}
        if values.get("api", {}).get("enabled", True):
            expect |= {"Service", "ConfigMap"}
        if values.get("networkPolicies", {}).get("enabled", True):
            expect.add("NetworkPolicy")
        if values.get("api", {}).get("replicas", 1) > 1:
            expect.add("PodDisruptionBudget")
        if values.get("metrics", {}).get("serviceMonitor", {}).get("enabled"):
            expect.add("ServiceMonitor")
            wanted = 2 if values.get("api", {}).get("enabled", True) else 1
            if kinds.count("ServiceMonitor") != wanted:
                failures.append(f"chart[{label}]: {kinds.count('ServiceMonitor')} ServiceMonitors, expected {wanted}")
        if values.get("networkPolicies", {}).get("enabled", True):
            trusted = [d for t, x in rendered.items() if not t.endswith("NOTES.txt") for d in docs_of(x)
                       if d["kind"] == "NetworkPolicy" and d["spec"]["podSelector"].get("matchLabels", {})
                       .get("katalusis.io/trust") == "trusted"]
            if not trusted or any(egress_problems(d) for d in trusted):
                failures.append(f"chart[{label}]: trusted node Pods lack an egress policy without private ranges")
        if not expect <= set(kinds):
            failures.append(f"chart[{label}] renders {sorted(set(kinds))}, missing {sorted(expect - set(kinds))}")
        print(f"chart[{label}]: {len(kinds)} manifests ({', '.join(sorted(set(kinds)))})")
    for label, values in BAD_VALUES.items():
        try:
            chart.validate_schema(merged(values))
        except Exception:  # helm_python.errors.HelmValuesError
            continue
        failures.append(f"values.schema.json accepted bad values: {label}")


def openapi_to_jsonschema(s: dict) -> dict:
    """The CRD's OpenAPI v3 schema as JSON Schema, stricter than the API
    server: unknown fields are errors here (the API server would prune them)."""
    if s.get("x-kubernetes-preserve-unknown-fields") and "type" not in s:
        return {}
    out: dict = {}
    for key in ("required", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        if key in s:
            out[key] = s[key]
    if "type" in s:
        out["type"] = [s["type"], "null"] if s.get("nullable") else s["type"]
    if "enum" in s:
        out["enum"] = list(s["enum"]) + ([None] if s.get("nullable") else [])
    if "properties" in s:
        out["properties"] = {k: openapi_to_jsonschema(v) for k, v in s["properties"].items()}
        if not s.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(s.get("additionalProperties"), dict):
        out["additionalProperties"] = openapi_to_jsonschema(s["additionalProperties"])
    if "items" in s:
        out["items"] = openapi_to_jsonschema(s["items"])
    if s.get("format") == "date-time":
        out["pattern"] = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
    return out


def crd_schema(kind: str) -> dict:
    with open(os.path.join(ROOT, f"crds/yaml/katalusis.io_{kind.lower()}s.yaml"), encoding="utf-8") as f:
        crd = yaml.safe_load(f)
    return openapi_to_jsonschema(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def validate_custom_resource(obj: dict, where: str) -> None:
    global checked
    import jsonschema
    schema = crd_schema(obj["kind"])
    body = {k: v for k, v in obj.items() if k in ("spec", "status")}
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(body))
    for e in errors:
        failures.append(f"{where}: {'.'.join(map(str, e.absolute_path))}: {e.message}")
    if not errors:
        checked += 1


def validate_pods(pods_dir: str, version: str) -> None:
    files = sorted(glob.glob(os.path.join(pods_dir, "*.json")))
    kinds: dict[str, int] = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
        kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
        if obj["kind"] == "Run":
            validate_custom_resource(obj, f"operator-written Run {os.path.basename(path)}")
        else:
            check(obj, f"operator Pod {os.path.basename(path)}", version)
    if not kinds.get("Pod") or not kinds.get("Run"):
        failures.append(f"expected operator Pods and Runs in {pods_dir}, found {kinds}")
    print(f"operator output: {kinds.get('Pod', 0)} Pod specs, {kinds.get('Run', 0)} Runs with status")


def validate_examples(version: str) -> None:
    """The examples people copy: custom resources against our CRD schemas,
    everything else against the Kubernetes schemas."""
    files = sorted(glob.glob(os.path.join(ROOT, "examples/*.yaml")))
    for path in files:
        with open(path, encoding="utf-8") as f:
            docs = docs_of(f.read())
        for i, doc in enumerate(docs):
            where = f"{os.path.relpath(path, ROOT)}[{i}]"
            if doc.get("apiVersion", "").startswith("katalusis.io/"):
                validate_custom_resource(doc, where)
            else:
                check(doc, where, version)
    if not files:
        failures.append("no examples/*.yaml found")
    print(f"examples: {len(files)} files")


def validate_compose() -> None:
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "check-jsonschema"),
         "--builtin-schema", "vendor.compose-spec", os.path.join(ROOT, "docker-compose.yml")],
        capture_output=True, text=True)
    if result.returncode != 0:
        failures.append(f"docker-compose.yml: {result.stdout}{result.stderr}")
    else:
        print("docker-compose.yml: valid against the compose spec")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods-dir")
    parser.add_argument("--kube-version", default="1.33.0")
    args = parser.parse_args()
    self_check_egress()
    validate_crds(args.kube_version)
    validate_chart(args.kube_version)
    validate_examples(args.kube_version)
    if args.pods_dir:
        validate_pods(args.pods_dir, args.kube_version)
    validate_compose()
    for f in failures:
        print("FAIL", f)
    print(f"{checked} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
