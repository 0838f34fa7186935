#!/usr/bin/env python3
"""Task list benchmark through the real HTTP API.

Starts the API server against a fresh database, generates 100,000 tasks
(20 clients, 10 managers, assignees, tags, due dates, SLA deadlines) straight
into MySQL/MariaDB with the `mysql` client, then times `GET /api/tasks` with
filters and sorts as admin, manager and client: 300 requests per query over
one keep-alive connection after 20 warm-up requests. Prints p50/p99 per query
and writes them as JSON to bench/results/. Stdlib only.

    BENCH_TASKS=100000         how many tasks to generate
    BENCH_BINARY=path          server binary (default: release build)
    BENCH_DATABASE_SERVER=mysql://root@127.0.0.1:3306
    BENCH_KEEP_DB=1            keep the generated database (to look at plans)
"""

import http.client
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = int(os.environ.get("BENCH_TASKS", "100000"))
REPS = int(os.environ.get("BENCH_REPS", "300"))
ADMIN_PASSWORD = "bench-admin-password"
PASSWORD = "bench-user-password"
PRIORITIES = ["low", "medium", "high", "critical"]
SLA_MINUTES = {"critical": 240, "high": 1440, "medium": 4320, "low": None}
WORDS = ["report", "invoice", "server", "migration", "review", "contract", "audit", "backup", "release", "onboarding"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port, token=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = token

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def login(self, login, password):
        r = self.call("POST", "/api/auth/login", {"login": login, "password": password})
        self.token = r["accessToken"]
        return self


def sql_dt(d):
    return d.strftime("'%Y-%m-%d %H:%M:%S'")


def recount_statements():
    """Migration 0027's recount of the task counts, after emptying them."""
    with open(os.path.join(ROOT, "migrations", "0027_task_counts.sql")) as f:
        text = "\n".join(line for line in f.read().splitlines() if not line.lstrip().startswith("--"))
    inserts = [s.strip() + ";" for s in text.split(";") if s.strip().startswith("INSERT INTO task_")]
    return ["DELETE FROM task_slot_count;", "DELETE FROM task_open_count;", "DELETE FROM task_sla_count;"] + inserts


def generate(db_url, db, clients, managers, admin_id):
    """Writes the tasks with multi-row INSERTs through the mysql client."""
    u = urllib.parse.urlparse(db_url)
    args = ["mysql", "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306), "-u", u.username or "root"]
    if u.password:
        args.append(f"-p{u.password}")
    args.append(db)
    rnd = random.Random(42)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    counters = {c: 0 for c in clients}
    lines = ["SET autocommit=0;"]
    rows, assignees, tags = [], [], []
    for i in range(1, TASKS + 1):
        c = clients[i % len(clients)]
        counters[c] += 1
        n = counters[c]
        prio = rnd.choice(PRIORITIES)
        status = rnd.choice([1, 1, 2, 2, 2, 3, 4])
        created = now - timedelta(minutes=rnd.randint(0, 90 * 24 * 60))
        due = created + timedelta(days=rnd.randint(1, 60)) if rnd.random() < 0.7 else None
        target = SLA_MINUTES[prio]
        risk_at = created + timedelta(seconds=target * 60 * 80 // 100) if target else None
        due_sla = created + timedelta(minutes=target) if target else None
        completed = created + timedelta(hours=rnd.randint(1, 200)) if status == 4 else None
        title = f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} #{i}"
        rows.append("(%d,%d,%d,'C%d-%d','%s','',%d,'%s',%d,%s,%d,'manual',%s,%s,1,%s,%s,%s)" % (
            i, c, n, c, n, title, status, prio, admin_id,
            sql_dt(due) if due else "NULL", i * 16,
            sql_dt(risk_at) if risk_at else "NULL", sql_dt(due_sla) if due_sla else "NULL",
            sql_dt(created), sql_dt(created), sql_dt(completed) if completed else "NULL"))
        assignees.append(f"({i},{c if rnd.random() < 0.5 else managers[clients.index(c) % len(managers)]},{c},"
                         f"{'FALSE' if completed else 'TRUE'})")
        if rnd.random() < 0.33:
            tags.append(f"({i},'{rnd.choice(['ops', 'finance', 'legal', 'it', 'hr'])}')")
        if len(rows) == 2000 or i == TASKS:
            lines.append("INSERT INTO task (task_id, client_id, task_number, task_key, title, description, status_id, "
                         "priority, reporter_id, due_at, position, source_kind, sla_risk_at, sla_due_at, version, "
                         "created_at, updated_at, completed_at) VALUES " + ",".join(rows) + ";")
            lines.append("INSERT INTO task_assignee (task_id, user_id, client_id, task_open) VALUES " + ",".join(assignees) + ";")
            if tags:
                lines.append("INSERT INTO task_tag (task_id, tag) VALUES " + ",".join(tags) + ";")
            rows, assignees, tags = [], [], []
    for c, n in counters.items():
        lines.append(f"INSERT INTO task_counter (client_id, prefix, last_number) VALUES ({c}, 'C{c}', {n});")
    # A server that ran all along raised each passed SLA notification when it
    # was due: without this its sweeper would raise a thousand a minute while
    # the benchmark measures.
    lines.append(f"UPDATE task SET sla_risk_notified_at = sla_risk_at WHERE completed_at IS NULL AND sla_risk_at <= {sql_dt(now)};")
    lines.append(f"UPDATE task SET sla_breach_notified_at = sla_due_at WHERE completed_at IS NULL AND sla_due_at <= {sql_dt(now)};")
    # The task counts the server keeps on every task write
    # (`analytics::rollup`), recounted by migration 0027's own statements.
    lines.extend(recount_statements())
    lines.append("COMMIT; ANALYZE TABLE task, task_assignee, task_tag;")
    r = subprocess.run(args, input="\n".join(lines).encode(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("generating tasks failed: " + r.stderr.decode()[-500:])


def measure(api, path):
    for _ in range(20):
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


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.environ.get("BENCH_BINARY") or os.path.join(target, "release", "katalusis-api")
    if not os.environ.get("BENCH_BINARY") and not os.environ.get("BENCH_SKIP_BUILD"):
        subprocess.run(["cargo", "build", "--release", "-p", "katalusis-api-server", "--bin", "katalusis-api"],
                       cwd=ROOT, check=True)
    port = free_port()
    db = f"katalusis_tasks_bench_{os.getpid()}"
    base = os.environ.get("BENCH_DATABASE_SERVER", "mysql://root@127.0.0.1:3306")
    env = dict(os.environ, DATABASE_URL=f"{base}/{db}", KATALUSIS_BIND=f"127.0.0.1:{port}",
               KATALUSIS_ADMIN_PASSWORD=ADMIN_PASSWORD, KATALUSIS_JWT_SECRET="bench-secret-" + "x" * 32,
               KATALUSIS_LOG="warn", KATALUSIS_ARGON2_MEMORY_KIB="1024", KATALUSIS_ARGON2_ITERATIONS="1")
    server = subprocess.Popen([binary], cwd=ROOT, env=env)
    try:
        for _ in range(300):
            try:
                Api(port).call("GET", "/readyz")
                break
            except (OSError, RuntimeError):
                time.sleep(0.1)
        admin = Api(port).login("admin", ADMIN_PASSWORD)
        admin_id = admin.call("GET", "/api/auth/me")["id"]

        def user(name, role):
            return admin.call("POST", "/api/admin/users", {
                "username": name, "email": f"{name}@example.com", "displayName": name,
                "role": role, "password": PASSWORD})["id"]

        clients = [user(f"client{i}", "client") for i in range(20)]
        managers = [user(f"manager{i}", "manager") for i in range(10)]
        for i, c in enumerate(clients):
            admin.call("PUT", f"/api/admin/managers/{managers[i % len(managers)]}/clients/{c}")
        t0 = time.time()
        generate(base, db, clients, managers, admin_id)
        print(f"generated {TASKS} tasks in {time.time() - t0:.1f} s")
        manager = Api(port).login("manager0", PASSWORD)
        client = Api(port).login("client0", PASSWORD)
        queries = [
            ("admin", admin, "/api/tasks?status=2&priority=high,critical&sort=due_asc&perPage=50"),
            ("admin", admin, "/api/tasks?sort=created_desc&perPage=50"),
            ("admin", admin, "/api/tasks?tag=ops&sla=breached&sort=updated_desc&perPage=50"),
            ("admin", admin, f"/api/tasks?clientId={clients[3]}&sort=board&perPage=200&withCounts=true"),
            ("admin", admin, "/api/tasks?q=invoice%20audit&sort=created_desc&perPage=50"),
            ("manager", manager, "/api/tasks?sort=board&perPage=100&withCounts=true"),
            ("manager", manager, f"/api/tasks?assigneeId={managers[0]}&priority=critical&sort=priority_desc"),
            ("manager", manager, "/api/tasks?dueFrom=2020-01-01T00:00:00Z&dueTo=2100-01-01T00:00:00Z&sort=due_asc"),
            ("client", client, "/api/tasks?sort=priority_desc&perPage=50"),
        ]
        results = {}
        for who, api, path in queries:
            r = measure(api, path)
            results[f"{who} {path}"] = r
            print(f"{who:>7} p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  max {r['max_ms']:7.2f} ms  {path}")
        worst = max(r["p99_ms"] for r in results.values())
        print(f"worst p99: {worst:.2f} ms (target < 50 ms)")
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        out = os.path.join(ROOT, "bench", "results", f"tasks-{int(time.time())}.json")
        with open(out, "w") as f:
            json.dump({"tasks": TASKS, "reps": REPS, "binary": binary, "machine": {
                "cpus": os.cpu_count(), "platform": platform.platform()}, "results": results}, f, indent=2)
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
