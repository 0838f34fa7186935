#!/usr/bin/env python3
"""Analytics benchmark through the real HTTP API.

Starts the API server against a fresh database, generates 100,000 tasks (the
same generator as tasks_bench.py: 20 clients, 10 managers, 90 days) and
100,000 runs of 20 workflows (one or three node attempts each, durations,
queue waits and failure reasons) straight into MySQL/MariaDB with the `mysql`
client, then times `GET /api/analytics/tasks` and `GET /api/analytics/runs`
as admin and as manager: BENCH_REPS requests per query over one keep-alive
connection after warm-up. Prints p50/p99 per query and writes them as JSON
to bench/results/. Stdlib only.

With --render the server also serves the built SPA (frontend/dist: run
`npx vite build` in frontend/ first) and bench/analytics_render.mjs times the
dashboard in headless Chromium (playwright-core from frontend/node_modules)
as admin and as a manager: navigation start to every counter and chart drawn,
p50/p99 over BENCH_RENDER_LOADS loads.

    BENCH_TASKS=100000         how many tasks to generate
    BENCH_RUNS=100000          how many runs to generate
    BENCH_REPS=100             timed requests per query
    BENCH_WARMUP=5             unmeasured requests before them
    BENCH_BINARY=path          server binary (default: release build)
    BENCH_DATABASE_SERVER=mysql://root@127.0.0.1:3306
    BENCH_KEEP_DB=1            keep the generated database (to look at plans)
    BENCH_RENDER_LOADS=10      measured dashboard loads per user with --render
"""

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("BENCH_REPS", "100")

import tasks_bench  # noqa: E402  (the task generator and the HTTP helpers)
from tasks_bench import Api, free_port, sql_dt  # noqa: E402

ROOT = tasks_bench.ROOT
RUNS = int(os.environ.get("BENCH_RUNS", "100000"))
REPS = int(os.environ["BENCH_REPS"])
WARMUP = int(os.environ.get("BENCH_WARMUP", "5"))
REASONS = ["error", "timeout", "memory", "sandbox", "output_type"]


def mysql_args(db_url, db):
    u = urllib.parse.urlparse(db_url)
    args = ["mysql", "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306), "-u", u.username or "root"]
    if u.password:
        args.append(f"-p{u.password}")
    return args + [db]


def generate_runs(db_url, db, workflows, admin_id):
    """Runs over the last 90 days: 80 % succeeded, 12 % failed, 3 % cancelled,
    the rest running or pending; one node attempt each, three for a third."""
    rnd = random.Random(7)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    lines = ["SET autocommit=0;"]
    runs, nodes = [], []
    for i in range(1, RUNS + 1):
        wf, client = workflows[i % len(workflows)]
        status = rnd.choices(["succeeded", "failed", "cancelled", "running", "pending"], [80, 12, 3, 3, 2])[0]
        created = now - timedelta(seconds=rnd.randint(0, 90 * 24 * 3600))
        started = created + timedelta(milliseconds=rnd.randint(5, 5000)) if status != "pending" else None
        finished = (started + timedelta(milliseconds=rnd.randint(200, 600_000))
                    if status in ("succeeded", "failed", "cancelled") else None)
        # Unfinished runs stand for runs a cluster drives (an ingest token):
        # they have no graph, so the local executor must not try to resume them.
        token = "'%s'" % ("b" * 64) if status in ("running", "pending") else "NULL"
        runs.append("(%d,%d,1,%d,%d,'%s','continue','{}','{}',TRUE,%s,%s,%s,%s)" % (
            i, wf, client, admin_id, status, sql_dt(created),
            sql_dt(started) if started else "NULL", sql_dt(finished) if finished else "NULL", token))
        if started:
            count = 3 if rnd.random() < 0.33 else 1
            for k in range(count):
                last = k == count - 1
                node_status = "succeeded" if not last else status
                reason = f"'{rnd.choice(REASONS)}'" if node_status == "failed" else "NULL"
                ms = rnd.randint(50, 120_000)
                # Each attempt carries its run's creation time, workflow and
                # client, as the server writes them (migration 0019).
                nodes.append("(%d,'n%d',1,'%s',%s,%s,%s,%s,%s,%d,%d)" % (
                    i, k, node_status, reason, sql_dt(started),
                    sql_dt(started) if node_status != "running" else "NULL",
                    ms if node_status != "running" else "NULL", sql_dt(created), wf, client))
        if len(runs) == 2000 or i == RUNS:
            lines.append("INSERT INTO run (run_id, workflow_id, workflow_revision, client_id, started_by, status, "
                         "failure_policy, snapshot, node_states, published, created_at, started_at, finished_at, "
                         "ingest_token_sha256) "
                         "VALUES " + ",".join(runs) + ";")
            if nodes:
                lines.append("INSERT INTO node_execution (run_id, node_id, attempt, status, reason, started_at, "
                             "finished_at, duration_ms, run_created_at, workflow_id, client_id) VALUES " + ",".join(nodes) + ";")
            runs, nodes = [], []
    lines.append("COMMIT; ANALYZE TABLE run, node_execution;")
    r = subprocess.run(mysql_args(db_url, db), input="\n".join(lines).encode(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("generating runs failed: " + r.stderr.decode()[-500:])


def measure(api, path):
    """p50/p99 of REPS sequential requests after WARMUP unmeasured ones."""
    for _ in range(WARMUP):
        api.call("GET", path)
    times = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        api.call("GET", path)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
            "max_ms": round(times[-1], 2)}


def render(port):
    """Dashboard render times in headless Chromium (bench/analytics_render.mjs)."""
    loads = os.environ.get("BENCH_RENDER_LOADS", "10")
    users = [f"admin:{tasks_bench.ADMIN_PASSWORD}:/admin/analytics",
             f"admin:{tasks_bench.ADMIN_PASSWORD}:/admin/analytics?range=90d",
             f"manager0:{tasks_bench.PASSWORD}:/manager"]
    out = subprocess.run(["node", os.path.join(ROOT, "bench", "analytics_render.mjs"),
                          f"http://127.0.0.1:{port}", loads, *users],
                         cwd=ROOT, check=True, stdout=subprocess.PIPE)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--render", action="store_true",
                        help="also time the dashboard in headless Chromium (needs frontend/dist)")
    args = parser.parse_args()
    web_dir = os.path.join(ROOT, "frontend", "dist")
    if args.render and not os.path.exists(os.path.join(web_dir, "index.html")):
        parser.error("--render needs the built SPA: run `npx vite build` in frontend/")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.environ.get("BENCH_BINARY") or os.path.join(target, "release", "katalusis-api")
    if not os.environ.get("BENCH_BINARY") and not os.environ.get("BENCH_SKIP_BUILD"):
        subprocess.run(["cargo", "build", "--release", "-p", "katalusis-api-server", "--bin", "katalusis-api"],
                       cwd=ROOT, check=True)
    port = free_port()
    db = f"katalusis_analytics_bench_{os.getpid()}"
    base = os.environ.get("BENCH_DATABASE_SERVER", "mysql://root@127.0.0.1:3306")
    env = dict(os.environ, DATABASE_URL=f"{base}/{db}", KATALUSIS_BIND=f"127.0.0.1:{port}",
               KATALUSIS_ADMIN_PASSWORD=tasks_bench.ADMIN_PASSWORD,
               KATALUSIS_JWT_SECRET="bench-secret-" + "x" * 32, KATALUSIS_LOG="warn",
               KATALUSIS_ARGON2_MEMORY_KIB="1024", KATALUSIS_ARGON2_ITERATIONS="1",
               KATALUSIS_STARTER_LIBRARY="false",
               # A fixed vault key, so no dev key file is written into the checkout.
               KATALUSIS_SECRET_KEY="ZTJlLXZhdWx0LWtleS1lMmUtdmF1bHQta2V5LWUyZSE=")
    if args.render:
        env["KATALUSIS_WEB_DIR"] = web_dir
    server = subprocess.Popen([binary], cwd=ROOT, env=env)
    try:
        for _ in range(300):
            try:
                Api(port).call("GET", "/readyz")
                break
            except (OSError, RuntimeError):
                time.sleep(0.1)
        admin = Api(port).login("admin", tasks_bench.ADMIN_PASSWORD)
        admin_id = admin.call("GET", "/api/auth/me")["id"]

        def user(name, role):
            return admin.call("POST", "/api/admin/users", {
                "username": name, "email": f"{name}@example.com", "displayName": name,
                "role": role, "password": tasks_bench.PASSWORD})["id"]

        clients = [user(f"client{i}", "client") for i in range(20)]
        managers = [user(f"manager{i}", "manager") for i in range(10)]
        for i, c in enumerate(clients):
            admin.call("PUT", f"/api/admin/managers/{managers[i % len(managers)]}/clients/{c}")
        workflows = [(admin.call("POST", "/api/workflows", {"clientId": c, "name": f"flow {i}"})["id"], c)
                     for i, c in enumerate(clients)]
        t0 = time.time()
        tasks_bench.generate(base, db, clients, managers, admin_id)
        generate_runs(base, db, workflows, admin_id)
        print(f"generated {tasks_bench.TASKS} tasks and {RUNS} runs in {time.time() - t0:.1f} s")
        manager = Api(port).login("manager0", tasks_bench.PASSWORD)
        client = Api(port).login("client0", tasks_bench.PASSWORD)
        queries = [
            ("admin", admin, "/api/analytics/tasks?range=90d"),
            ("admin", admin, "/api/analytics/runs?range=90d"),
            ("admin", admin, "/api/analytics/tasks?range=30d&tz=Europe/Paris"),
            ("admin", admin, "/api/analytics/runs?range=30d&tz=Europe/Paris"),
            ("admin", admin, "/api/analytics/tasks?range=90d&bucket=week&groups=throughput,flow,sla"),
            ("manager", manager, "/api/analytics/tasks?range=90d"),
            ("manager", manager, "/api/analytics/runs?range=90d"),
            ("manager", manager, "/api/analytics/tasks?range=30d"),
            ("manager", manager, "/api/analytics/runs?range=30d"),
            ("client", client, "/api/analytics/tasks?range=30d"),
            ("client", client, "/api/analytics/runs?range=30d"),
        ]
        load_before = os.getloadavg()
        print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
        results = {}
        for who, api, path in queries:
            r = measure(api, path)
            results[f"{who} {path}"] = r
            print(f"{who:>7} p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  max {r['max_ms']:7.2f} ms  {path}")
        worst = max(r["p99_ms"] for r in results.values())
        print(f"worst p99: {worst:.2f} ms (target < 150 ms)")
        rendered = None
        if args.render:
            rendered = render(port)
            for name, r in rendered.items():
                print(f"render {name}: p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  max {r['max_ms']} ms  "
                      f"({r['loads']} loads, {r['charts']} charts, {r['analytics_json_bytes']} bytes of JSON; "
                      f"median phases {r['phases_p50_ms']})")
            print(f"worst render p99: {max(r['p99_ms'] for r in rendered.values())} ms (target < 1000 ms)")
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        out = os.path.join(ROOT, "bench", "results", f"analytics-{int(time.time())}.json")
        with open(out, "w") as f:
            json.dump({"tasks": tasks_bench.TASKS, "runs": RUNS, "reps": REPS, "warmup": WARMUP, "binary": binary,
                       "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                   "loadavg_before": load_before, "loadavg": load},
                       "results": results, "render": rendered}, f, indent=2)
        print(f"wrote {out}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if os.environ.get("BENCH_KEEP_DB"):
            print(f"kept database {db}")
        else:
            subprocess.run(["mysql", "-h", "127.0.0.1", "-u", "root", "-e", f"DROP DATABASE IF EXISTS {db}"],
                           check=False)


if __name__ == "__main__":
    sys.exit(main())
