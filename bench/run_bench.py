#!/usr/bin/env python3
"""End-to-end engine benchmark through the real HTTP API.

Starts the release API server against a fresh MariaDB/MySQL database, builds the
scenarios of the public orchestrator benchmark (fibo nodes), and times each run
from the POST that starts it to the run's `succeeded` event on the manager's
dashboard stream (subscribed before the POST). 5 repetitions per scenario;
median/min/max are printed and written as JSON to bench/results/.

    L  40 sequential nodes, each fibo(10)
    H  10 sequential nodes, each fibo(33)
    F  1 root -> 48 parallel fibo(10) -> 1 join (50 nodes)
    Lr L with `restricted` nodes
    Q  a Query node reads 100,000 rows x 5 columns from the local PostgreSQL
       (read-only connection) and hands them to a Python node that counts them
    T1  throughput: 200 one-node fibo(10) runs submitted at once by 16 client
        threads; runs/s from the first POST to the last run's end, and the
        Play (POST) latency p50/p99 under that load
    T40 throughput: 50 forty-node fibo(10) chains submitted at once by 16
        client threads; nodes/s

After the throughput scenarios, the memory of each warm sandbox that stays
up idle (PSS of its process tree: launcher, bwrap, supervisor, zygote, spare job
process, slirp4netns).

Also prints the floor on this machine: `python3 -c pass` start time x 40 and
fibo(33) x 10 in one process. Stdlib only.
"""

import http.client
import json
import os
import platform
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPS = int(os.environ.get("BENCH_REPS", "5"))
ADMIN_PASSWORD = "bench-admin-password"
PASSWORD = "bench-user-password"

FIBO = "def fibo(n):\n    return n if n <= 1 else fibo(n - 1) + fibo(n - 2)\n\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port):
        self.port = port
        self.token = None

    def call(self, method, path, body=None, expect=(200, 201, 202, 204)):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status not in expect:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {data[:500]!r}")
        return json.loads(data) if data else None

    def login(self, login, password):
        r = self.call("POST", "/api/auth/login", {"login": login, "password": password})
        self.token = r["accessToken"]
        return self


class Dashboard(threading.Thread):
    """Reads the manager's SSE dashboard and reports terminal run events."""

    def __init__(self, port, token):
        super().__init__(daemon=True)
        self.port, self.token = port, token
        self.finished = queue.Queue()
        self.ready = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port)
        conn.request("GET", "/api/events", headers={"Authorization": f"Bearer {self.token}",
                                                    "Accept": "text/event-stream"})
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        self.ready.set()
        data = []
        while True:
            line = resp.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                ev = json.loads("\n".join(data))
                data = []
                if ev.get("status") in ("succeeded", "failed", "cancelled"):
                    self.finished.put((time.perf_counter(), ev))


def template(name, trust, code, inputs, outputs, params):
    return {"name": name, "title": name, "category": "bench", "code": code, "trustLevel": trust,
            "inputs": inputs, "outputs": outputs, "parameters": params,
            "limits": {"timeoutSeconds": 600, "memoryMib": 512, "cpuMillicores": 1000}}


def fibo_template(name, trust):
    code = FIBO + "def run(inputs, params, ctx):\n    return {'value': fibo(int(params['n']))}\n"
    return template(name, trust, code, [{"name": "prev", "type": "json"}],
                    [{"name": "value", "type": "integer"}],
                    [{"name": "n", "kind": "number", "required": True}])


def join_template(name, width):
    code = "def run(inputs, params, ctx):\n    return {'value': sum(v for v in inputs.values() if v is not None)}\n"
    return template(name, "trusted", code, [{"name": f"in{i}", "type": "json"} for i in range(width)],
                    [{"name": "value", "type": "integer"}], [])


def node(nid, tpl, n=None):
    d = {"id": nid, "template": {"name": tpl, "version": 1}, "position": {"x": 0, "y": 0}}
    if n is not None:
        d["params"] = {"n": n}
    return d


def edge(i, src, dst, port="prev"):
    return {"id": f"e{i}", "source": src, "sourcePort": "value", "target": dst, "targetPort": port}


def chain(tpl, count, n):
    nodes = [node(f"n{i}", tpl, n) for i in range(count)]
    edges = [edge(i, f"n{i - 1}", f"n{i}") for i in range(1, count)]
    return {"nodes": nodes, "edges": edges}


def fan(tpl, join, width, n):
    nodes = [node("root", tpl, n)] + [node(f"p{i}", tpl, n) for i in range(width)] + [node("join", join)]
    edges = [edge(i, "root", f"p{i}") for i in range(width)]
    edges += [edge(width + i, f"p{i}", "join", f"in{i}") for i in range(width)]
    return {"nodes": nodes, "edges": edges}


QUERY_ROWS = 100_000


def iso(t):
    from datetime import datetime
    return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def prepare_query_source(admin, client_id):
    """100,000 rows x 5 columns in the local PostgreSQL and a read-only
    connection to it; False (scenario Q skipped) without PostgreSQL."""
    sql = ("DROP TABLE IF EXISTS bench_query; "
           "CREATE TABLE bench_query AS SELECT i AS id, 'name-' || i AS name, i * 0.5::float8 AS amount, "
           "i % 2 = 0 AS flag, now() - i * interval '1 second' AS at "
           f"FROM generate_series(1, {QUERY_ROWS}) AS i;")
    try:
        subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"scenario Q skipped: PostgreSQL is not reachable ({e})")
        return False
    admin.call("POST", "/api/admin/connections", {
        "name": "bench-pg", "kind": "postgres", "host": "127.0.0.1", "database": "postgres", "user": "postgres",
        "password": "unused", "tlsMode": "disable", "readOnly": True, "clientIds": [client_id]})
    admin.call("POST", "/api/templates", template(
        "bench.count", "trusted", "def run(inputs, params, ctx):\n    return {'n': len(inputs['rows'])}\n",
        [{"name": "rows", "type": "array", "required": True}], [{"name": "n", "type": "integer"}], []))
    return True


def query_graph():
    q = {"id": "query", "template": {"name": "flow.query", "version": 1}, "position": {"x": 0, "y": 0},
         "params": {"connection": "bench-pg", "sql": "SELECT id, name, amount, flag, at FROM bench_query ORDER BY id",
                    "maxRows": QUERY_ROWS}}
    return {"nodes": [q, node("count", "bench.count")],
            "edges": [{"id": "e", "source": "query", "sourcePort": "rows", "target": "count", "targetPort": "rows"}]}


def throughput(manager, dash, wf_id, runs, nodes_per_run, threads=16):
    """Submits `runs` async runs of one workflow at once from `threads`
    threads; returns runs/s, nodes/s and the POST latencies."""
    import concurrent.futures
    while not dash.finished.empty():
        dash.finished.get_nowait()
    latencies = []
    lock = threading.Lock()

    def play(_):
        t = time.perf_counter()
        run = manager.call("POST", f"/api/workflows/{wf_id}/runs", {"mode": "async"})
        with lock:
            latencies.append(time.perf_counter() - t)
        return run["id"]

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        ids = set(pool.map(play, range(runs)))
    pending, failed, last = set(ids), 0, t0
    while pending:
        try:
            t1, ev = dash.finished.get(timeout=120)
        except queue.Empty:
            # The live stream may drop events under load: ask for the rest.
            for rid in list(pending):
                st = manager.call("GET", f"/api/runs/{rid}")["status"]
                if st in ("succeeded", "failed", "cancelled"):
                    pending.discard(rid)
                    failed += st != "succeeded"
                    last = time.perf_counter()
            continue
        if ev.get("runId") in pending:
            pending.discard(ev["runId"])
            failed += ev["status"] != "succeeded"
            last = t1
    return throughput_result(runs, nodes_per_run, threads, last - t0, latencies, failed)


def throughput_result(runs, nodes_per_run, threads, wall, latencies, failed):
    """A throughput scenario's figures (also those of bench/n8n_bench.py)."""
    latencies = sorted(latencies)

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 1)

    return {"runs": runs, "nodes_per_run": nodes_per_run, "threads": threads, "wall_s": round(wall, 3),
            "runs_per_s": round(runs / wall, 1), "nodes_per_s": round(runs * nodes_per_run / wall, 1),
            "play_p50_ms": pct(50), "play_p99_ms": pct(99), "failed": failed}


def print_throughput(key, r):
    print(f"{key:>13}: {r['runs_per_s']} runs/s, {r['nodes_per_s']} nodes/s, wall {r['wall_s']} s, "
          f"Play p50 {r['play_p50_ms']} ms p99 {r['play_p99_ms']} ms, failed {r['failed']}", flush=True)


def timing_result(times):
    """A latency scenario's figures from its measured run times (seconds)."""
    return {"median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
            "max_s": round(max(times), 4), "runs_s": [round(t, 4) for t in times]}


def print_timing(key, r):
    print(f"{key:>13}: median {r['median_s']:.3f} s  min {r['min_s']:.3f} s  max {r['max_s']:.3f} s", flush=True)


def sandbox_memory():
    """PSS (KiB) of each warm sandbox's process tree, found by its launcher's command line."""
    procs = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/smaps_rollup") as f:
                pss = next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError, IndexError):
            continue
        procs[int(pid)] = (ppid, cmd, pss)
    roots = [p for p, (pp, cmd, _) in procs.items()
             if "katalusis_runner.py serve" in cmd and "--inside-sandbox" not in cmd
             and not ("katalusis_runner.py serve" in procs.get(pp, (0, "", 0))[1])]
    sizes = []
    for root in roots:
        tree, total = {root}, 0
        changed = True
        while changed:
            changed = False
            for p, (pp, _, _) in procs.items():
                if pp in tree and p not in tree:
                    tree.add(p)
                    changed = True
        for p in tree:
            total += procs[p][2]
        sizes.append(total)
    return sizes


def floor_measurements():
    t = time.perf_counter()
    for _ in range(40):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    start40 = time.perf_counter() - t
    code = FIBO + "import time\nt=time.perf_counter()\nfor _ in range(10): fibo(33)\nprint(time.perf_counter()-t)\n"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return {"python_start_x40_s": round(start40, 4), "fibo33_x10_one_process_s": round(float(out.stdout), 4)}


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.path.join(target, "release", "katalusis-api")
    if not os.environ.get("BENCH_SKIP_BUILD"):
        subprocess.run(["cargo", "build", "--release", "-p", "katalusis-api-server", "--bin", "katalusis-api"],
                       cwd=ROOT, check=True)
    port = free_port()
    db = f"katalusis_bench_{os.getpid()}"
    base = os.environ.get("BENCH_DATABASE_SERVER", "mysql://root@127.0.0.1:3306")
    env = dict(os.environ, DATABASE_URL=f"{base}/{db}", KATALUSIS_BIND=f"127.0.0.1:{port}",
               KATALUSIS_ADMIN_PASSWORD=ADMIN_PASSWORD, KATALUSIS_JWT_SECRET="bench-secret-" + "x" * 32,
               KATALUSIS_LOG="warn")
    server = subprocess.Popen([binary], cwd=ROOT, env=env)
    try:
        api = Api(port)
        for _ in range(200):
            try:
                api.call("GET", "/readyz")
                break
            except (OSError, RuntimeError):
                time.sleep(0.1)
        admin = Api(port).login("admin", ADMIN_PASSWORD)
        ids = {}
        for name, role in (("bench-manager", "manager"), ("bench-client", "client")):
            ids[role] = admin.call("POST", "/api/admin/users", {
                "username": name, "email": f"{name}@example.com", "displayName": name,
                "role": role, "password": PASSWORD})["id"]
        admin.call("PUT", f"/api/admin/managers/{ids['manager']}/clients/{ids['client']}")
        admin.call("POST", "/api/templates", fibo_template("bench.fibo", "trusted"))
        admin.call("POST", "/api/templates", fibo_template("bench.fibo.restricted", "restricted"))
        admin.call("POST", "/api/templates", join_template("bench.join", 48))
        query_ready = prepare_query_source(admin, ids["client"])
        manager = Api(port).login("bench-manager", PASSWORD)
        scenarios = {
            "L": chain("bench.fibo", 40, 10),
            "H": chain("bench.fibo", 10, 33),
            "F": fan("bench.fibo", "bench.join", 48, 10),
            "L_restricted": chain("bench.fibo.restricted", 40, 10),
        }
        if query_ready:
            scenarios["Q"] = query_graph()
        scenarios["T1"] = chain("bench.fibo", 1, 10)
        scenarios["T40"] = chain("bench.fibo", 40, 10)
        only = [k for k in os.environ.get("BENCH_ONLY", "").split(",") if k]
        if only:
            scenarios = {k: v for k, v in scenarios.items() if k in only}
        dash = Dashboard(port, manager.token)
        dash.start()
        dash.ready.wait(10)
        results = {}
        for key, graph in scenarios.items():
            wf = manager.call("POST", "/api/workflows", {"clientId": ids["client"], "name": f"bench {key}", "graph": graph})
            assert not [p for p in wf["problems"] if p["severity"] == "error"], wf["problems"]
            if key in ("T1", "T40"):
                runs, width = (200, 1) if key == "T1" else (50, 40)
                throughput(manager, dash, wf["id"], 4, width)   # warm-up
                results[key] = throughput(manager, dash, wf["id"], runs, width)
                print_throughput(key, results[key])
                continue
            times = []
            for _ in range(REPS + 1):  # the first run warms caches and is not counted
                t0 = time.perf_counter()
                run = manager.call("POST", f"/api/workflows/{wf['id']}/runs", {"mode": "async"})
                while True:
                    t1, ev = dash.finished.get(timeout=900)
                    if ev.get("runId") == run["id"]:
                        break
                if ev["status"] != "succeeded":
                    raise RuntimeError(f"scenario {key}: run {run['id']} ended {ev['status']}")
                times.append(t1 - t0)
            times = times[1:]
            if key == "Q":
                detail = manager.call("GET", f"/api/runs/{run['id']}")
                q = next(n for n in detail["nodes"] if n["id"] == "query")["executions"][-1]
                nxt = next(n for n in detail["nodes"] if n["id"] == "count")["executions"][-1]
                results["Q_query_node"] = {
                    "duration_ms": q.get("durationMs"), "row_count": q["outputs"]["rowCount"],
                    # From the Query's start to the counting node's start: the rows have reached it.
                    "to_next_node_ms": round((iso(nxt["startedAt"]) - iso(q["startedAt"])) * 1000)}
            results[key] = timing_result(times)
            print_timing(key, results[key])
        if "T1" in results or "T40" in results:
            sizes = sandbox_memory()
            results["warm_sandboxes"] = {"count": len(sizes), "pss_kib": sizes}
            if sizes:
                print(f"{'warm':>13}: {len(sizes)} sandboxes, PSS {min(sizes) // 1024}-{max(sizes) // 1024} MiB each")
        floor = floor_measurements()
        print(f"{'floor':>13}: python3 -c pass x40 {floor['python_start_x40_s']:.3f} s, "
              f"fibo(33) x10 in one process {floor['fibo33_x10_one_process_s']:.3f} s")
        report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": {
            "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "repetitions": REPS, "scenarios": results, "floor": floor}
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        path = os.path.join(ROOT, "bench", "results", f"engine-{time.strftime('%Y%m%d-%H%M%S')}.json")
        with open(path, "w") as f:
            json.dump(report, f, indent=2)
        print(f"written {os.path.relpath(path, ROOT)}")
    finally:
        server.terminate()
        server.wait(30)
        subprocess.run(["mysql", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS {db}"], check=False)


if __name__ == "__main__":
    main()
