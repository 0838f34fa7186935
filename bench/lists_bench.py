#!/usr/bin/env python3
"""List benchmark at a million runs, through the real HTTP API.

Starts the API server (release build) against a persistent database, generates
with bulk SQL (multi-row INSERT … SELECT over a numbers table, not through the
API): 200 clients, 20 managers (10 clients each), one workflow per client,
1,000,000 finished runs (~2 KB snapshot each), 5,000,000 log lines (5 per run),
1,000,000 audit rows and 100,000 tasks. Every step continues where it stopped,
so an interrupted generation resumes (the database is kept unless BENCH_DROP=1).

Then times, with 16 concurrent clients (one keep-alive connection each), the
first page and the 100th page (reached by following `nextCursor`) of each list
as admin, manager and client with common filters, a run's detail and one run's
log page. Prints p50/p99 per request and writes them as JSON to bench/results/.
Stdlib only.

    BENCH_RUNS=1000000  BENCH_LOG_LINES_PER_RUN=5  BENCH_AUDIT=1000000
    BENCH_CONCURRENCY=16  BENCH_REPS=40 (requests per client per endpoint)
    BENCH_PER_PAGE=25    BENCH_DB=katalusis_lists_bench  BENCH_DROP=0
    BENCH_ONLY=substring (measure only the requests whose label contains it)
    BENCH_BINARY=path    (default: release build)  BENCH_GENERATE_ONLY=1 (stop after the data)
    BENCH_DATABASE_SERVER=mysql://root@127.0.0.1:3306
"""

import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

RUNS = int(os.environ.get("BENCH_RUNS", "1000000"))
LINES_PER_RUN = int(os.environ.get("BENCH_LOG_LINES_PER_RUN", "5"))
AUDIT = int(os.environ.get("BENCH_AUDIT", "1000000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
REPS = int(os.environ.get("BENCH_REPS", "40"))
PER_PAGE = int(os.environ.get("BENCH_PER_PAGE", "25"))
DB = os.environ.get("BENCH_DB", "katalusis_lists_bench")
CLIENTS, MANAGERS = 200, 20
ADMIN_PASSWORD = "bench-admin-password"
CHUNK = 50_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port, token=None):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
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
        self.token = self.call("POST", "/api/auth/login", {"login": login, "password": password})["accessToken"]
        return self

    def clone(self):
        return Api(self.port, self.token)


class Sql:
    """Runs SQL through the mysql client (no driver outside the stdlib)."""

    def __init__(self, url, db):
        u = urllib.parse.urlparse(url)
        self.args = ["mysql", "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306),
                     "-u", u.username or "root", "--batch", "--skip-column-names"]
        if u.password:
            self.args.append(f"-p{u.password}")
        self.db = db

    def run(self, sql, db=True):
        args = self.args + ([self.db] if db else [])
        r = subprocess.run(args, input=sql.encode(), capture_output=True)
        if r.returncode != 0:
            raise RuntimeError(f"SQL failed: {r.stderr.decode()[-800:]}\n{sql[:300]}")
        return r.stdout.decode().strip()

    def scalar(self, sql):
        out = self.run(sql)
        return int(out) if out and out != "NULL" else 0


def step(name, done, target, fill):
    """Fills `name` in chunks until `done()` reaches `target`; each chunk is one
    statement (atomic), so a killed run resumes at the last whole chunk."""
    t0 = time.time()
    have = done()
    while have < target:
        fill(have, min(target, have + CHUNK))
        have = done()
        rate = have / max(time.time() - t0, 0.001)
        print(f"  {name}: {have:,}/{target:,} ({rate:,.0f}/s)", flush=True)
    print(f"{name}: {have:,} rows ready ({time.time() - t0:.0f} s)", flush=True)


SNAPSHOT = json.dumps({"graph": {"nodes": [], "edges": []}, "templates": [], "modules": {
    "allow": [f"bench_module_{i:03d}" for i in range(60)],
    "block": [f"blocked_module_{i:03d}" for i in range(40)]}})
NODE_STATES = json.dumps({n: {"phase": "Succeeded", "attempt": 1, "startedAtMs": 1767225600000,
                              "finishedAtMs": 1767225601000} for n in ["extract", "transform", "load"]})


def generate(sql, admin_id):
    sql.run(f"""
CREATE TABLE IF NOT EXISTS bench_n (n INT UNSIGNED NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS bench_client (idx INT UNSIGNED NOT NULL PRIMARY KEY, client_id BIGINT UNSIGNED NOT NULL,
  manager_id BIGINT UNSIGNED NOT NULL, workflow_id BIGINT UNSIGNED NULL) ENGINE=InnoDB;
INSERT IGNORE INTO bench_n (n)
  SELECT a.d + 10*b.d + 100*c.d + 1000*d.d + 10000*e.d + 100000*f.d
  FROM (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL
        SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a,
       (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL
        SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b,
       (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL
        SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c,
       (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL
        SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) d,
       (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL
        SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e,
       (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL
        SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) f;
-- Every bench user logs in with the admin's password (its hash is copied).
SET @hash = (SELECT password_hash FROM app_user WHERE user_id = {admin_id});
INSERT IGNORE INTO app_user (username, email, display_name, role, password_hash, created_at, updated_at)
  SELECT CONCAT('manager', n), CONCAT('manager', n, '@example.com'), CONCAT('Manager ', n), 'manager', @hash,
         NOW(6), NOW(6) FROM bench_n WHERE n < {MANAGERS};
INSERT IGNORE INTO app_user (username, email, display_name, role, password_hash, created_at, updated_at)
  SELECT CONCAT('client', n), CONCAT('client', n, '@example.com'), CONCAT('Client ', n), 'client', @hash,
         NOW(6), NOW(6) FROM bench_n WHERE n < {CLIENTS};
INSERT IGNORE INTO bench_client (idx, client_id, manager_id)
  SELECT b.n, c.user_id, m.user_id FROM bench_n b
  JOIN app_user c ON c.username = CONCAT('client', b.n)
  JOIN app_user m ON m.username = CONCAT('manager', b.n % {MANAGERS})
  WHERE b.n < {CLIENTS};
INSERT IGNORE INTO manager_client (manager_id, client_id, created_at, created_by)
  SELECT manager_id, client_id, NOW(6), {admin_id} FROM bench_client;
INSERT INTO workflow (client_id, name, description, graph, revision, created_by, created_at, updated_by, updated_at)
  SELECT bc.client_id, CONCAT('Nightly import ', bc.idx), 'Loads the nightly export', '{{"nodes":[],"edges":[]}}',
         1, {admin_id}, NOW(6), {admin_id}, NOW(6)
  FROM bench_client bc WHERE bc.workflow_id IS NULL;
UPDATE bench_client bc JOIN workflow w ON w.client_id = bc.client_id SET bc.workflow_id = w.workflow_id
  WHERE bc.workflow_id IS NULL;
""")
    snapshot = SNAPSHOT.replace("'", "''")
    states = NODE_STATES.replace("'", "''")

    # Runs: n % 20 == 0 failed, == 1 cancelled, else succeeded; 2% unpublished;
    # one a minute, the newest now. All finished, so the server resumes nothing.
    def fill_runs(lo, hi):
        sql.run(f"""
INSERT INTO run (run_id, workflow_id, workflow_revision, client_id, started_by, status, failure_policy, snapshot,
  node_states, published, logs_visible_to_client, message, created_at, started_at, finished_at, node_count,
  failed_nodes, failure_reasons)
SELECT b.n + 1, bc.workflow_id, 1, bc.client_id, bc.manager_id,
  CASE b.n % 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'cancelled' ELSE 'succeeded' END, 'continue',
  '{snapshot}', '{states}', b.n % 50 <> 7, TRUE,
  CASE b.n % 20 WHEN 0 THEN 'node load failed: timeout' ELSE NULL END,
  TIMESTAMPADD(MINUTE, CAST(b.n AS SIGNED) - {RUNS}, UTC_TIMESTAMP(6)),
  TIMESTAMPADD(MINUTE, CAST(b.n AS SIGNED) - {RUNS}, UTC_TIMESTAMP(6)),
  TIMESTAMPADD(SECOND, 30 + b.n % 90, TIMESTAMPADD(MINUTE, CAST(b.n AS SIGNED) - {RUNS}, UTC_TIMESTAMP(6))),
  3, IF(b.n % 20 = 0, 1, 0), IF(b.n % 20 = 0, '{{"timeout":1}}', '{{}}')
FROM bench_n b JOIN bench_client bc ON bc.idx = b.n % {CLIENTS}
WHERE b.n >= {lo} AND b.n < {hi};""")

    step("runs", lambda: sql.scalar("SELECT COALESCE(MAX(run_id), 0) FROM run"), RUNS, fill_runs)

    per_chunk_runs = max(1, CHUNK // LINES_PER_RUN)
    seqs = " UNION ALL ".join(f"SELECT {i} k" for i in range(1, LINES_PER_RUN + 1))

    def fill_logs(lo, hi):
        first_run, last_run = lo // LINES_PER_RUN, min(RUNS, lo // LINES_PER_RUN + per_chunk_runs)
        sql.run(f"""
INSERT INTO node_log (run_id, seq, node_id, attempt, ts, level, stream, message)
SELECT b.n + 1, s.k, ELT(1 + s.k % 3, 'extract', 'transform', 'load'), 1,
  TIMESTAMPADD(SECOND, s.k, TIMESTAMPADD(MINUTE, CAST(b.n AS SIGNED) - {RUNS}, UTC_TIMESTAMP(6))),
  IF(s.k = {LINES_PER_RUN} AND b.n % 20 = 0, 'error', 'info'), 'stdout',
  CONCAT('processed batch ', s.k, ' of run ', b.n + 1, ': 1,024 rows read, 1,020 written, 4 rejected')
FROM bench_n b CROSS JOIN ({seqs}) s
WHERE b.n >= {first_run} AND b.n < {last_run};""")

    step("log lines",
         lambda: sql.scalar("SELECT COALESCE(MAX(run_id), 0) FROM node_log") * LINES_PER_RUN,
         RUNS * LINES_PER_RUN, fill_logs)

    def fill_audit(lo, hi):
        sql.run(f"""
INSERT INTO audit_log (audit_id, at, user_id, role, action, object_type, object_id, outcome, status, request_id,
  client_ip)
SELECT b.n + 1, TIMESTAMPADD(SECOND, (CAST(b.n AS SIGNED) - {AUDIT}) * 30, UTC_TIMESTAMP(6)),
  IF(b.n % 3 = 0, bc.manager_id, bc.client_id), IF(b.n % 3 = 0, 'manager', 'client'),
  ELT(1 + b.n % 5, 'run.start', 'run.update', 'workflow.update', 'auth.login', 'run.cancel'),
  'run', CAST(b.n AS CHAR), IF(b.n % 50 = 0, 'denied', 'success'), IF(b.n % 50 = 0, 403, 200),
  CONCAT('req-', b.n), '10.0.0.1'
FROM bench_n b JOIN bench_client bc ON bc.idx = b.n % {CLIENTS}
WHERE b.n >= {lo} AND b.n < {hi};""")

    step("audit rows", lambda: sql.scalar("SELECT COALESCE(MAX(audit_id), 0) FROM audit_log"), AUDIT, fill_audit)

    import tasks_bench  # the task generator of the task list benchmark (one transaction)
    if sql.scalar("SELECT COUNT(*) FROM task") == 0:
        t0 = time.time()
        clients = [int(x) for x in sql.run("SELECT client_id FROM bench_client ORDER BY idx").split()]
        managers = [int(x) for x in sql.run(
            f"SELECT manager_id FROM bench_client WHERE idx < {MANAGERS} ORDER BY idx").split()]
        tasks_bench.generate(os.environ.get("BENCH_DATABASE_SERVER", "mysql://root@127.0.0.1:3306"),
                             sql.db, clients, managers, admin_id)
        print(f"tasks: {tasks_bench.TASKS:,} generated ({time.time() - t0:.0f} s)", flush=True)
    sql.run("ANALYZE TABLE run, node_log, audit_log, task, manager_client;")


def measure(api, path):
    """`CONCURRENCY` threads, each with its own connection: 3 warm-up requests,
    then REPS timed ones; p50/p99 over all of them."""
    times, errors = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(CONCURRENCY)

    def worker():
        me = api.clone()
        try:
            for _ in range(3):
                me.call("GET", path)
            barrier.wait()
            mine = []
            for _ in range(REPS):
                t0 = time.perf_counter()
                me.call("GET", path)
                mine.append((time.perf_counter() - t0) * 1000)
            with lock:
                times.extend(mine)
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(str(e))
            barrier.abort()

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{path}: {errors[0]}")
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
            "max_ms": round(times[-1], 2), "requests": len(times)}


def page_n(api, path, n):
    """The URL of page `n` of a cursor list, following `nextCursor`; stops
    early (and says so) when the list is shorter."""
    url, page = path, 1
    while page < n:
        body = api.call("GET", url)
        cursor = body.get("nextCursor")
        if not cursor:
            break
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}after={urllib.parse.quote(cursor)}"
        page += 1
    return url, page


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.environ.get("BENCH_BINARY") or os.path.join(target, "release", "katalusis-api")
    if not os.environ.get("BENCH_BINARY") and not os.environ.get("BENCH_SKIP_BUILD"):
        subprocess.run(["cargo", "build", "--release", "-p", "katalusis-api-server", "--bin", "katalusis-api"],
                       cwd=ROOT, check=True)
    base = os.environ.get("BENCH_DATABASE_SERVER", "mysql://root@127.0.0.1:3306")
    sql = Sql(base, DB)
    sql.run(f"CREATE DATABASE IF NOT EXISTS {DB}", db=False)
    port = free_port()
    env = dict(os.environ, DATABASE_URL=f"{base}/{DB}", KATALUSIS_BIND=f"127.0.0.1:{port}",
               KATALUSIS_ADMIN_PASSWORD=ADMIN_PASSWORD, KATALUSIS_JWT_SECRET="bench-secret-" + "x" * 32,
               KATALUSIS_LOG="warn", KATALUSIS_ARGON2_MEMORY_KIB="1024", KATALUSIS_ARGON2_ITERATIONS="1",
               KATALUSIS_LOGIN_MAX_FAILURES="1000", KATALUSIS_DB_MAX_CONNECTIONS="32")
    server = subprocess.Popen([binary], cwd=ROOT, env=env)
    try:
        for _ in range(600):
            try:
                Api(port).call("GET", "/readyz")
                break
            except (OSError, RuntimeError):
                time.sleep(0.2)
        admin = Api(port).login("admin", ADMIN_PASSWORD)
        admin_id = admin.call("GET", "/api/auth/me")["id"]
        t0 = time.time()
        generate(sql, admin_id)
        print(f"data ready in {time.time() - t0:.0f} s", flush=True)
        if os.environ.get("BENCH_GENERATE_ONLY") == "1":
            return 0
        manager = Api(port).login("manager0", ADMIN_PASSWORD)
        client = Api(port).login("client0", ADMIN_PASSWORD)
        client0 = sql.scalar("SELECT client_id FROM bench_client WHERE idx = 0")
        client10 = sql.scalar("SELECT client_id FROM bench_client WHERE idx = 20")
        wf0 = sql.scalar("SELECT workflow_id FROM bench_client WHERE idx = 0")
        manager0 = sql.scalar("SELECT manager_id FROM bench_client WHERE idx = 0")
        newest_client_run = sql.scalar(
            f"SELECT MAX(run_id) FROM run WHERE client_id = {client0} AND published AND status = 'failed'")
        pp = f"perPage={PER_PAGE}"
        lists = [
            ("admin", admin, f"/api/runs?{pp}"),
            ("admin", admin, f"/api/runs?status=failed&{pp}"),
            ("admin", admin, f"/api/runs?clientId={client10}&{pp}"),
            ("admin", admin, f"/api/runs?workflowId={wf0}&{pp}"),
            ("manager", manager, f"/api/runs?{pp}"),
            ("manager", manager, f"/api/runs?status=failed&{pp}"),
            ("manager", manager, f"/api/runs?clientId={client0}&{pp}"),
            ("client", client, f"/api/runs?{pp}"),
            ("client", client, f"/api/runs?status=failed&{pp}"),
            ("admin", admin, f"/api/admin/audit?{pp}"),
            ("admin", admin, f"/api/admin/audit?userId={manager0}&{pp}"),
            ("admin", admin, f"/api/admin/audit?outcome=denied&{pp}"),
            ("admin", admin, f"/api/tasks?sort=created_desc&{pp}"),
            ("admin", admin, f"/api/tasks?sort=priority_desc&{pp}"),
            ("admin", admin, f"/api/tasks?sort=updated_desc&{pp}"),
            ("manager", manager, f"/api/tasks?sort=created_desc&{pp}"),
            ("client", client, f"/api/tasks?sort=created_desc&{pp}"),
            ("client", client, f"/api/notifications?limit={PER_PAGE}"),
        ]
        results = {}

        only = os.environ.get("BENCH_ONLY")  # a substring: measure only matching requests

        def record(who, api, label, path):
            if only and only not in f"{who} {label}":
                return
            r = measure(api, path)
            results[f"{who} {label}"] = dict(r, path=path)
            print(f"{who:>7} p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  max {r['max_ms']:7.2f} ms  {label}",
                  flush=True)

        for who, api, path in lists:
            record(who, api, path, path)
            if "/notifications" in path or (only and only not in f"{who} {path}"):
                continue
            deep, reached = page_n(api, path, 100)
            record(who, api, f"{path} page {reached}", deep)
        record("admin", admin, "run detail", f"/api/runs/{newest_client_run}")
        record("manager", manager, "run detail", f"/api/runs/{newest_client_run}")
        record("client", client, "run detail", f"/api/runs/{newest_client_run}")
        record("client", client, "run log page", f"/api/runs/{newest_client_run}/nodes/load/logs?limit=500")
        record("admin", admin, "run log page", f"/api/runs/{newest_client_run}/nodes/load/logs?limit=500")
        worst = max([r["p99_ms"] for r in results.values()] or [0])
        print(f"worst p99: {worst:.2f} ms (target < 50 ms)")
        sizes = sql.run(f"""SELECT table_name, table_rows, ROUND(data_length/1048576), ROUND(index_length/1048576)
FROM information_schema.tables WHERE table_schema = '{DB}' AND table_name NOT LIKE 'bench%'
ORDER BY data_length + index_length DESC LIMIT 8""")
        total_mb = sql.scalar(f"""SELECT ROUND(SUM(data_length + index_length)/1048576)
FROM information_schema.tables WHERE table_schema = '{DB}'""")
        print("largest tables (name, approx rows, data MiB, index MiB):\n" + sizes)
        print(f"database size: {total_mb} MiB")
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        out = os.path.join(ROOT, "bench", "results", f"lists-{int(time.time())}.json")
        with open(out, "w") as f:
            json.dump({"runs": RUNS, "logLines": RUNS * LINES_PER_RUN, "audit": AUDIT, "concurrency": CONCURRENCY,
                       "repsPerClient": REPS, "perPage": PER_PAGE, "binary": binary, "databaseMiB": total_mb,
                       "tables": sizes.splitlines(),
                       "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                       "results": results}, f, indent=2)
        print(f"wrote {out}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if os.environ.get("BENCH_DROP") == "1":
            sql.run(f"DROP DATABASE IF EXISTS {DB}", db=False)


if __name__ == "__main__":
    sys.exit(main())
