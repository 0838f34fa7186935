#!/usr/bin/env python3
"""Validates every Kubernetes manifest the repository ships or produces against
the official Kubernetes OpenAPI schemas (kubernetes-validate, strict, offline),
renders and lints the Helm chart with the Helm engine (helm-python-sdk, no
helm binary), and checks docker-compose.yml against the compose spec.

    scripts/validate-manifests.py [--pods-dir DIR] [--kube-version 1.33.0]

--pods-dir holds the Pod specs the operator tests dumped
(KATALUSIS_POD_DUMP_DIR). Needs the packages `make deps-k8s` installs into
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
SECRETS = {"secrets": {"databaseUrl": "mysql://katalusis:pw@mysql:3306/katalusis", "jwtSecret": "j" * 40}}
VALUE_SETS = {
    "defaults": SECRETS,
    "ingress-tls-existing-secret": {
        "secrets": {"existingSecret": "katalusis-secrets"},
        "api": {"ingress": {"enabled": True, "tls": True, "className": "nginx"},
                "env": {"KATALUSIS_LOG": "debug"}},
        "images": {"allowList": ["registry.example/nodes/pandas:1"]},
    },
    "compose-kind": {"api": {"enabled": False}, "networkPolicies": {"enabled": False}},
    "kubernetes-executor": {**SECRETS, "api": {"executor": "kubernetes"}, "operator": {"replicas": 2}},
}
# Values the chart's values.schema.json must refuse.
BAD_VALUES = {
    "unknown executor": {**SECRETS, "api": {"executor": "docker"}},
    "short JWT secret": {"secrets": {"databaseUrl": "mysql://x", "jwtSecret": "short"}},
    "unknown key": {**SECRETS, "operatr": {}},
    "bad pull policy": {**SECRETS, "images": {"pullPolicy": "Sometimes"}},
}

failures: list[str] = []
checked = 0


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
        for template, text in sorted(rendered.items()):
            if template.endswith("NOTES.txt"):
                if "first administrator" not in text:
                    failures.append(f"{label}: NOTES.txt lacks the first-login steps")
                continue
            for doc in docs_of(text):
                kinds.append(doc["kind"])
                check(doc, f"chart[{label}] {template}", version)
        expect = {"Deployment", "Role", "RoleBinding", "ServiceAccount"}
        if values.get("api", {}).get("enabled", True):
            expect |= {"Service", "ConfigMap"}
        if values.get("networkPolicies", {}).get("enabled", True):
            expect.add("NetworkPolicy")
        if not expect <= set(kinds):
            failures.append(f"chart[{label}] renders {sorted(set(kinds))}, missing {sorted(expect - set(kinds))}")
        print(f"chart[{label}]: {len(kinds)} manifests ({', '.join(sorted(set(kinds)))})")
    for label, values in BAD_VALUES.items():
        try:
            chart.validate_schema(merged(values))
        except Exception:  # helm_python.errors.HelmValuesError
            continue
        failures.append(f"values.schema.json accepted bad values: {label}")


def validate_pods(pods_dir: str, version: str) -> None:
    files = sorted(glob.glob(os.path.join(pods_dir, "*.json")))
    if not files:
        failures.append(f"no operator Pod specs in {pods_dir}")
    for path in files:
        with open(path, encoding="utf-8") as f:
            pod = json.load(f)
        check(pod, f"operator Pod {os.path.basename(path)}", version)
    print(f"operator Pods: {len(files)} specs")


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
    validate_crds(args.kube_version)
    validate_chart(args.kube_version)
    if args.pods_dir:
        validate_pods(args.pods_dir, args.kube_version)
    validate_compose()
    for f in failures:
        print("FAIL", f)
    print(f"{checked} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
