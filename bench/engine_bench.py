#!/usr/bin/env python3
"""Engine benchmark through the real HTTP API (stdlib only).

Starts the API server binary against MariaDB/MySQL, creates users, templates
and workflows through the API, then runs each scenario REPS times and measures
from the POST that starts a run to the run's `succeeded` event on the
dashboard SSE feed (`GET /api/events`, opened before the POST).

Scenarios (fibo(n) = n if n <= 1 else fibo(n-1) + fibo(n-2)):
  L   40 sequential nodes, each fibo(10), trusted
  Lr  the same with restricted nodes
  H   10 sequential nodes, each fibo(33)
  F   1 root -> 48 parallel fibo(10) -> 1 join (50 nodes)
Also prints the floor: `python3 -c pass` x 40 and fibo(33) x 10 in one process.

Usage: python3 bench/engine_bench.py [--server PATH] [--reps N] [--only L,Lr,H,F]
Writes bench/results/engine-<timestamp>.json.
"""

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIBO = "def fibo(n):\n    return n if n <= 1 else fibo(n - 1) + fibo(n - 2)\n\n"
ADMIN_PASSWORD = "bench-admin-password"
PASSWORD = "bench-user-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base):
        self.base = base
        self.token = None

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token or self.token:
            req.add_header("Authorization", "Bearer " + (token or self.token))
        with urllib.request.urlopen(req, timeout=600) as r:
            text = r.read().decode()
            return json.loads(text) if text else None

    def login(self, user, password):
        return self.call("POST", "/api/auth/login", {"login": user, "password": password})["accessToken"]


class Dashboard(threading.Thread):
    """Follows /api/events and records when each run reported `succeeded`."""

    def __init__(self, base, token):
        super().__init__(daemon=True)
        self.finished = {}
        self.cond = threading.Condition()
        req = urllib.request.Request(base + "/api/events")
        req.add_header("Authorization", "Bearer " + token)
        self.resp = urllib.request.urlopen(req, timeout=3600)

    def run(self):
        event = None
        for raw in self.resp:
            line = raw.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "run":
                data = json.loads(line[5:])
                if data.get("status") in ("succeeded", "failed", "cancelled"):
                    with self.cond:
                        self.finished[data["runId"]] = (time.perf_counter(), data["status"])
                        self.cond.notify_all()

    def wait(self, run_id, timeout=900):
        with self.cond:
            self.cond.wait_for(lambda: run_id in self.finished, timeout)
            return self.finished[run_id]


def template(name, code, inputs, outputs, trust):
    return {"name": name, "title": name, "code": code, "inputs": inputs, "outputs": outputs,
            "trustLevel": trust, "parameters": [{"name": "n", "kind": "number", "default": 10}],
            "limits": {"timeoutSeconds": 600, "memoryMib": 512, "cpuMillicores": 1000}}


def chain(tpl, count, n):
    nodes = [{"id": f"n{i}", "template": {"name": tpl, "version": 1}, "params": {"n": n}} for i in range(count)]
    edges = [{"id": f"e{i}", "source": f"n{i}", "sourcePort": "out", "target": f"n{i + 1}", "targetPort": "prev"}
             for i in range(count - 1)]
    return {"nodes": nodes, "edges": edges}


def fan(tpl, join):
    nodes = [{"id": "root", "template": {"name": tpl, "version": 1}, "params": {"n": 10}}]
    edges = []
    for i in range(48):
        nodes.append({"id": f"m{i}", "template": {"name": tpl, "version": 1}, "params": {"n": 10}})
        edges.append({"id": f"a{i}", "source": "root", "sourcePort": "out", "target": f"m{i}", "targetPort": "prev"})
        edges.append({"id": f"b{i}", "source": f"m{i}", "sourcePort": "out", "target": "join", "targetPort": f"in{i}"})
    nodes.append({"id": "join", "template": {"name": join, "version": 1}})
    return {"nodes": nodes, "edges": edges}


def floor():
    t = time.perf_counter()
    for _ in range(40):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    start_40 = time.perf_counter() - t
    ns = {}
    exec(FIBO, ns)
    t = time.perf_counter()
    for _ in range(10):
        ns["fibo"](33)
    compute = time.perf_counter() - t
    return {"python_c_pass_x40_s": round(start_40, 4), "fibo33_x10_one_process_s": round(compute, 4)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                                     "release", "katalusis-api"))
    ap.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/katalusis_bench")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default="L,Lr,H,F")
    args = ap.parse_args()
    wanted = args.only.split(",")

    port = free_port()
    env = dict(os.environ, DATABASE_URL=args.database_url, KATALUSIS_BIND=f"127.0.0.1:{port}",
               KATALUSIS_ADMIN_PASSWORD=ADMIN_PASSWORD, KATALUSIS_LOG="warn",
               KATALUSIS_RUNNER_PATH=os.path.join(ROOT, "runner", "katalusis_runner.py"))
    server = subprocess.Popen([args.server], env=env, cwd=ROOT)
    try:
        api = Api(f"http://127.0.0.1:{port}")
        for _ in range(300):
            try:
                api.call("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        tag = str(int(time.time()))
        api.token = api.login("admin", ADMIN_PASSWORD)
        ids = {}
        for role in ("manager", "client"):
            u = api.call("POST", "/api/admin/users", {"username": f"bench{role}{tag}", "email": f"{role}{tag}@bench.local",
                                                      "displayName": role, "role": role, "password": PASSWORD})
            ids[role] = u["id"]
        api.call("PUT", f"/api/admin/managers/{ids['manager']}/clients/{ids['client']}")
        code = FIBO + "def run(inputs, params, ctx):\n    return {'out': fibo(int(params['n']))}\n"
        ins = [{"name": "prev", "type": "integer", "required": False}]
        outs = [{"name": "out", "type": "integer"}]
        for trust in ("trusted", "restricted"):
            api.call("POST", "/api/templates", template(f"bench.fibo.{trust}.{tag}", code, ins, outs, trust))
        join_code = "def run(inputs, params, ctx):\n    return {'out': sum(inputs.values())}\n"
        api.call("POST", "/api/templates", template(
            f"bench.join.{tag}", join_code, [{"name": f"in{i}", "type": "integer", "required": True} for i in range(48)],
            outs, "trusted"))
        trusted, restricted, join = f"bench.fibo.trusted.{tag}", f"bench.fibo.restricted.{tag}", f"bench.join.{tag}"
        scenarios = {
            "L": chain(trusted, 40, 10),
            "Lr": chain(restricted, 40, 10),
            "H": chain(trusted, 10, 33),
            "F": fan(trusted, join),
        }
        manager = api.login(f"benchmanager{tag}", PASSWORD)
        dash = Dashboard(api.base, manager)
        dash.start()
        results = {}
        for name in wanted:
            wf = api.call("POST", "/api/workflows", {"clientId": ids["client"], "name": f"bench {name}",
                                                     "graph": scenarios[name]}, token=manager)
            times = []
            for _ in range(args.reps):
                t0 = time.perf_counter()
                run = api.call("POST", f"/api/workflows/{wf['id']}/runs", {}, token=manager)
                t1, status = dash.wait(run["id"])
                if status != "succeeded":
                    raise SystemExit(f"scenario {name}: run {run['id']} {status}")
                times.append(t1 - t0)
            results[name] = {"median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
                             "max_s": round(max(times), 4), "runs_s": [round(t, 4) for t in times]}
            print(f"{name:3} median {results[name]['median_s']:.3f} s  min {results[name]['min_s']:.3f}  "
                  f"max {results[name]['max_s']:.3f}", flush=True)
        fl = floor()
        print(f"floor: python3 -c pass x40 {fl['python_c_pass_x40_s']:.3f} s, "
              f"fibo(33) x10 in one process {fl['fibo33_x10_one_process_s']:.3f} s")
        out = {"scenarios": results, "floor": fl, "reps": args.reps, "server": args.server,
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                           "python": platform.python_version(), "loadavg": os.getloadavg()},
               "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        path = os.path.join(ROOT, "bench", "results", f"engine-{time.strftime('%Y%m%d-%H%M%S')}.json")
        with open(path, "w") as f:
            json.dump(out, f, indent=2)
        print("wrote", path)
    finally:
        # Open SSE streams hold graceful shutdown; the bench is done, so kill.
        server.kill()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
