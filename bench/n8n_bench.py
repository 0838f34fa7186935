#!/usr/bin/env python3
"""The engine benchmark's L, T1 and T40 scenarios run on n8n, side by side
with bench/run_bench.py on the same machine.

n8n runs as installed by bench/n8n/install.sh (n8n 2.8.4, the version the
throughput issue measured), with its defaults: SQLite, JavaScript Code nodes
in its task runner. Each workflow is a Webhook trigger followed by Code
nodes computing fibo(10), like the fibo nodes of run_bench.py.

    L   40 sequential fibo(10) nodes, one run: the webhook answers when the
        last node has run (`responseMode: lastNode`); median of BENCH_REPS
        after one warm-up run
    T1  200 one-node runs submitted at once by 16 client threads: the webhook
        answers on receipt (like an async Play); runs/s from the first POST
        to the last execution's end as n8n stored it, and the POST latency
        p50/p99
    T40 50 forty-node chains submitted at once by 16 client threads; nodes/s

Writes the results as JSON to bench/results/. Stdlib only.

    N8N_DIR=/var/cache/katalusis/n8n   where install.sh put n8n
    BENCH_REPS=5                       measured runs of L
    BENCH_ONLY=L,T1,T40                a subset of the scenarios
"""

import concurrent.futures
import http.client
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run_bench import free_port, print_throughput, print_timing, throughput_result, timing_result  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N8N_DIR = os.environ.get("N8N_DIR", "/var/cache/katalusis/n8n")
REPS = int(os.environ.get("BENCH_REPS", "5"))
JS_FIBO = ("function fibo(n) { return n <= 1 ? n : fibo(n - 1) + fibo(n - 2); }\n"
           "return [{ json: { value: fibo(10) } }];")


class N8n:
    """The REST API with the owner's session cookie, and the webhooks."""

    def __init__(self, port):
        self.port = port
        self.cookie = None
        self.local = threading.local()

    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        return c

    def call(self, method, path, body=None):
        headers = {"content-type": "application/json"}
        if self.cookie:
            headers["cookie"] = self.cookie
        for attempt in range(2):
            c = self.conn()
            try:
                c.request(method, path, json.dumps(body) if body is not None else None, headers)
                r = c.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, OSError):
                # A connection that failed is not reused.
                self.local.c = None
                c.close()
                if attempt:
                    raise
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("n8n-auth="):
                self.cookie = v.split(";", 1)[0]
        try:
            return json.loads(data) if data else None
        except ValueError:
            # Its "starting up" page, answered before the REST API is ready.
            raise RuntimeError(f"{method} {path}: not JSON: {data[:100]!r}") from None


def workflow(name, nodes_count, path, response_mode):
    """A webhook followed by `nodes_count` chained fibo(10) Code nodes."""
    nodes = [{
        "id": str(uuid.uuid4()), "name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
        "position": [0, 0], "webhookId": str(uuid.uuid4()),
        "parameters": {"httpMethod": "POST", "path": path, "responseMode": response_mode, "options": {}},
    }]
    connections = {}
    prev = "Webhook"
    for i in range(nodes_count):
        name_i = f"fibo {i}"
        nodes.append({"id": str(uuid.uuid4()), "name": name_i, "type": "n8n-nodes-base.code", "typeVersion": 2,
                      "position": [200 * (i + 1), 0], "parameters": {"jsCode": JS_FIBO}})
        connections[prev] = {"main": [[{"node": name_i, "type": "main", "index": 0}]]}
        prev = name_i
    return {"name": name, "nodes": nodes, "connections": connections, "settings": {"executionOrder": "v1"},
            "active": False}


def stored_ends(db_path, workflow_id):
    """(status, end time as epoch seconds) of the workflow's stored executions."""
    for _ in range(50):
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as c:
                rows = c.execute("SELECT status, stoppedAt FROM execution_entity WHERE workflowId = ? "
                                 "AND stoppedAt IS NOT NULL", (workflow_id,)).fetchall()
            break
        except sqlite3.OperationalError:
            time.sleep(0.05)
    else:
        raise RuntimeError("the n8n database stayed locked")
    out = []
    for status, stopped in rows:
        t = datetime.fromisoformat(stopped.replace("Z", "")).replace(tzinfo=timezone.utc).timestamp()
        out.append((status, t))
    return out


def throughput(api, db_path, wf_id, path, runs, nodes_per_run, threads=16):
    """Like run_bench.throughput: `runs` submitted at once from `threads`
    threads, until the last one has ended."""
    before = len(stored_ends(db_path, wf_id))
    latencies = []
    lock = threading.Lock()

    def play(_):
        t = time.perf_counter()
        api.call("POST", f"/webhook/{path}", {})
        with lock:
            latencies.append(time.perf_counter() - t)

    t0_wall = time.time()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(play, range(runs)))
    deadline = time.time() + 600
    while True:
        ends = stored_ends(db_path, wf_id)
        if len(ends) - before >= runs:
            break
        if time.time() > deadline:
            raise RuntimeError(f"only {len(ends) - before} of {runs} executions ended")
        time.sleep(0.05)
    mine = sorted(ends, key=lambda e: e[1])[-runs:]
    wall = max(e[1] for e in mine) - t0_wall
    failed = sum(1 for s, _ in mine if s != "success")
    return throughput_result(runs, nodes_per_run, threads, wall, latencies, failed)


def main():
    binary = os.path.join(N8N_DIR, "node_modules", ".bin", "n8n")
    if not os.path.exists(binary):
        subprocess.run(["bash", os.path.join(ROOT, "bench", "n8n", "install.sh")], check=True,
                       env=dict(os.environ, N8N_DIR=N8N_DIR))
    version = json.load(open(os.path.join(N8N_DIR, "node_modules", "n8n", "package.json")))["version"]
    home = tempfile.mkdtemp(prefix="katalusis-n8n-")
    port, broker = free_port(), free_port()
    env = dict(os.environ, N8N_USER_FOLDER=home, N8N_PORT=str(port), N8N_LISTEN_ADDRESS="127.0.0.1",
               N8N_RUNNERS_BROKER_PORT=str(broker), N8N_DIAGNOSTICS_ENABLED="false",
               N8N_VERSION_NOTIFICATIONS_ENABLED="false", N8N_PERSONALIZATION_ENABLED="false",
               N8N_SECURE_COOKIE="false", N8N_LOG_LEVEL="warn")
    log = open(os.path.join(home, "n8n.log"), "w")
    server = subprocess.Popen([binary, "start"], cwd=N8N_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        api = N8n(port)
        for _ in range(1200):
            try:
                api.call("GET", "/healthz")
                break
            except (OSError, RuntimeError):
                if server.poll() is not None:
                    raise RuntimeError(f"n8n exited; see {log.name}")
                time.sleep(0.1)
        # Ready once its REST API answers (after the migrations of a new database).
        for _ in range(1200):
            try:
                api.call("POST", "/rest/owner/setup", {"email": "bench@example.com", "firstName": "Bench",
                                                        "lastName": "Owner", "password": "Bench-password-1"})
                break
            except (OSError, RuntimeError):
                time.sleep(0.1)
        db_path = os.path.join(home, ".n8n", "database.sqlite")
        only = [k for k in os.environ.get("BENCH_ONLY", "").split(",") if k]
        scenarios = {"L": (40, "lastNode"), "T1": (1, "onReceived"), "T40": (40, "onReceived")}
        if only:
            scenarios = {k: v for k, v in scenarios.items() if k in only}
        results = {}
        for key, (count, mode) in scenarios.items():
            path = f"bench-{key.lower()}-{uuid.uuid4().hex[:8]}"
            wf = api.call("POST", "/rest/workflows", workflow(f"bench {key}", count, path, mode))["data"]
            api.call("POST", f"/rest/workflows/{wf['id']}/activate", {"versionId": wf["versionId"]})
            if key in ("T1", "T40"):
                runs = 200 if key == "T1" else 50
                throughput(api, db_path, wf["id"], path, 4, count)   # warm-up
                results[key] = throughput(api, db_path, wf["id"], path, runs, count)
                print_throughput(key, results[key])
                continue
            times = []
            for _ in range(REPS + 1):   # the first run warms caches and is not counted
                t0 = time.perf_counter()
                api.call("POST", f"/webhook/{path}", {})
                times.append(time.perf_counter() - t0)
            times = times[1:]
            results[key] = timing_result(times)
            print_timing(key, results[key])
        report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "n8n": version, "machine": {
            "cpus": os.cpu_count(), "platform": platform.platform(), "node": subprocess.run(
                ["node", "--version"], capture_output=True, text=True).stdout.strip()},
            "repetitions": REPS, "scenarios": results}
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        out = os.path.join(ROOT, "bench", "results", f"n8n-{time.strftime('%Y%m%d-%H%M%S')}.json")
        with open(out, "w") as f:
            json.dump(report, f, indent=2)
        print(f"written {os.path.relpath(out, ROOT)}")
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
