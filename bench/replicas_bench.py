#!/usr/bin/env python3
"""Read throughput of one API server replica, then of two on the same database.

Starts the release API server (local executor) on a fresh MySQL database,
seeds through the HTTP API a manager, a client, a one-node template,
BENCH_WORKFLOWS workflows and BENCH_RUNS finished runs (the server runs
them), then measures with wrk, as the manager (bearer token):

    GET /api/workflows?perPage=50     GET /api/workflows/{id}
    GET /api/runs?perPage=50          GET /api/runs/{id}
    GET /healthz (no session)         GET /api/auth/me (session check + user)

first against that one replica, then after starting a second replica
(its own KATALUSIS_BIND and KATALUSIS_REPLICA_ID, same DATABASE_URL and JWT
secret) against both: one wrk run whose threads alternate between the two
replicas (bench/replicas.lua), so both share one latency histogram. Same
threads and connections in both cases. Writes requests/s, p50, p99, non-2xx
responses and socket errors as a markdown table to bench/results/replicas.md
(with `nproc` and `free -g`) and as JSON to bench/results/replicas-<time>.json.

Both replicas share this machine's CPUs with MySQL and wrk, so on a small
machine the second column shows what a second replica costs or gains here,
not how replicas on separate nodes scale.

    BENCH_DURATION=15 (seconds per measurement, after a 3 s warm-up)
    BENCH_CONNECTIONS=32  BENCH_THREADS=4 (wrk; threads are split over the replicas)
    BENCH_WORKFLOWS=20  BENCH_RUNS=100
    BENCH_BINARY=path   (default: $CARGO_TARGET_DIR/release/katalusis-api; CARGO_TARGET_DIR
                         defaults to /var/cache/katalusis/target-main when it exists, else target/)
    BENCH_SKIP_BUILD=1  (do not run cargo build first)
    BENCH_DATABASE_SERVER=mysql://root@127.0.0.1:3306

Needs wrk (`apt-get install wrk`; `make bench` installs it) and the mysql
client. Stdlib only.
"""

import http.client
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA = os.path.join(ROOT, "bench", "replicas.lua")
DURATION = int(os.environ.get("BENCH_DURATION", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
WORKFLOWS = int(os.environ.get("BENCH_WORKFLOWS", "20"))
RUNS = int(os.environ.get("BENCH_RUNS", "100"))
ADMIN_PASSWORD = "bench-admin-password"
PASSWORD = "bench-user-password"
JWT_SECRET = "bench-secret-" + "x" * 32
# The vault key (base64 of 32 bytes) must be the same on every replica.
SECRET_KEY = "a2F0YWx1c2lzLXJlcGxpY2FzLWJlbmNoLXZhdWx0LWs="
TERMINAL = ("succeeded", "failed", "cancelled")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port, token=None):
        self.port = port
        self.token = token

    def call(self, method, path, body=None, expect=(200, 201, 202, 204)):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status not in expect:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {data[:300]!r}")
        return json.loads(data) if data else None

    def login(self, login, password):
        self.token = self.call("POST", "/api/auth/login", {"login": login, "password": password})["accessToken"]
        return self


def mysql(base, sql, check=True):
    u = urllib.parse.urlparse(base)
    args = ["mysql", "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306), "-u", u.username or "root"]
    if u.password:
        args.append(f"-p{urllib.parse.unquote(u.password)}")
    subprocess.run(args + ["-e", sql], check=check)


class Replica:
    """One API server process; SIGTERM on stop (it releases its leases)."""

    def __init__(self, binary, database_url, replica_id):
        self.port = free_port()
        self.replica_id = replica_id
        env = dict(os.environ, DATABASE_URL=database_url, KATALUSIS_BIND=f"127.0.0.1:{self.port}",
                   KATALUSIS_REPLICA_ID=replica_id, KATALUSIS_ADMIN_PASSWORD=ADMIN_PASSWORD,
                   KATALUSIS_JWT_SECRET=JWT_SECRET, KATALUSIS_SECRET_KEY=SECRET_KEY, KATALUSIS_LOG="warn",
                   KATALUSIS_ARGON2_MEMORY_KIB="1024", KATALUSIS_ARGON2_ITERATIONS="1",
                   KATALUSIS_LOGIN_MAX_FAILURES="1000", KATALUSIS_DB_MAX_CONNECTIONS="32")
        for key in ("KATALUSIS_METRICS_ADDR", "KATALUSIS_TLS_CERT", "KATALUSIS_TLS_KEY", "KATALUSIS_TLS_SELF_SIGNED"):
            env.pop(key, None)
        self.proc = subprocess.Popen([binary], cwd=ROOT, env=env)

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def wait_ready(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"replica {self.replica_id} exited with {self.proc.returncode}")
            try:
                Api(self.port).call("GET", "/readyz")
                return
            except (OSError, RuntimeError):
                time.sleep(0.2)
        raise RuntimeError(f"replica {self.replica_id} not ready after {timeout} s")

    def ready(self):
        try:
            Api(self.port).call("GET", "/readyz")
            return True
        except (OSError, RuntimeError):
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def template():
    code = "def run(inputs, params, ctx):\n    return {'value': 1}\n"
    return {"name": "bench.one", "title": "bench.one", "category": "bench", "code": code, "trustLevel": "trusted",
            "inputs": [], "outputs": [{"name": "value", "type": "integer"}], "parameters": [],
            "limits": {"timeoutSeconds": 60, "memoryMib": 256, "cpuMillicores": 500}}


def seed(port):
    """Manager, client, WORKFLOWS one-node workflows and RUNS finished runs;
    returns (the manager's login, a workflow id, a run id, seconds waited for
    the runs, runs still unfinished)."""
    admin = Api(port).login("admin", ADMIN_PASSWORD)
    ids = {}
    for name, role in (("bench-manager", "manager"), ("bench-client", "client")):
        ids[role] = admin.call("POST", "/api/admin/users", {
            "username": name, "email": f"{name}@example.com", "displayName": name,
            "role": role, "password": PASSWORD})["id"]
    admin.call("PUT", f"/api/admin/managers/{ids['manager']}/clients/{ids['client']}")
    admin.call("POST", "/api/templates", template())
    manager = Api(port).login("bench-manager", PASSWORD)
    graph = {"nodes": [{"id": "one", "template": {"name": "bench.one", "version": 1},
                        "position": {"x": 0, "y": 0}}], "edges": []}
    workflows = [manager.call("POST", "/api/workflows", {
        "clientId": ids["client"], "name": f"bench replicas {i}",
        "description": "Loads the nightly export", "graph": graph})["id"] for i in range(WORKFLOWS)]
    runs = [manager.call("POST", f"/api/workflows/{workflows[i % WORKFLOWS]}/runs", {"mode": "async"})["id"]
            for i in range(RUNS)]
    t0 = time.time()
    pending = set(runs)
    while pending and time.time() - t0 < 300:
        for rid in list(pending):
            if manager.call("GET", f"/api/runs/{rid}")["status"] in TERMINAL:
                pending.discard(rid)
        if pending:
            time.sleep(1)
    if pending:
        print(f"warning: {len(pending)} of {RUNS} runs still unfinished after 300 s", flush=True)
    return ("bench-manager", PASSWORD), workflows[0], runs[-1], round(time.time() - t0, 1), len(pending)


def wrk(targets, path, token, seconds):
    """One wrk run over `targets` (host:port list); the parsed WRK_JSON line."""
    env = dict(os.environ, BENCH_TARGETS=",".join(targets), BENCH_TOKEN=token)
    threads = max(THREADS, len(targets))
    threads -= threads % len(targets)  # every replica gets as many threads
    cmd = ["wrk", "-t", str(threads), "-c", str(max(CONNECTIONS, threads)), "-d", f"{seconds}s",
           "--timeout", "10s", "--latency", "-s", LUA, f"http://{targets[0]}{path}"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no WRK_JSON line:\n{out}")
    r = json.loads(line[len("WRK_JSON "):])
    r["threads"], r["connections"] = threads, max(CONNECTIONS, threads)
    r["rps"] = round(r["requests"] / (r["duration_us"] / 1e6), 1)
    r["socket_errors"] = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
    return r


def measure(label, replicas, port, login, paths):
    results = {}
    token = Api(port).login(*login).token  # fresh: access tokens live 15 minutes
    targets = [r.target for r in replicas]
    for name, path in paths:
        wrk(targets, path, token, 3)  # warm-up, not counted
        r = wrk(targets, path, token, DURATION)
        r["path"] = path
        results[name] = r
        spread = ", ".join(f"{k.split(':')[-1]}: {v}" for k, v in r["per_target"].items())
        print(f"{label:>10} {name:<22} {r['rps']:>9.1f} req/s  p50 {r['p50_us'] / 1000:7.2f} ms  "
              f"p99 {r['p99_us'] / 1000:7.2f} ms  non-2xx {r['non2xx']}  socket errors {r['socket_errors']}  "
              f"({spread})", flush=True)
    return results


def command_output(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip("\n")
    except (OSError, subprocess.CalledProcessError) as e:
        return f"({' '.join(args)} failed: {e})"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def markdown(report):
    m = report["machine"]
    lines = [
        "# API server replicas: read throughput",
        "",
        f"`bench/replicas_bench.py`, {report['date']}. One replica, then two replicas on the same MySQL",
        f"database, measured with wrk ({report['wrk']['threads']} threads split over the replicas, "
        f"{report['wrk']['connections']} keep-alive connections, {report['wrk']['durationSeconds']} s per row "
        f"after a 3 s warm-up) as a manager with a bearer token. Seeded through the API: "
        f"{report['seed']['workflows']} workflows, {report['seed']['runs']} finished runs "
        f"({report['seed']['unfinishedRuns']} unfinished when measuring).",
        "",
        f"Machine: `nproc` = {m['nproc']}, {m['cpuModel']}, {m['platform']}. MySQL, wrk and the replicas share it.",
        "",
        "```",
        "$ free -g",
        m["freeG"],
        "```",
        "",
        "| request | replicas | requests/s | p50 ms | p99 ms | non-2xx | socket errors | responses per replica |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in report["one"]:
        for count, key in ((1, "one"), (2, "two")):
            r = report[key][name]
            spread = " / ".join(str(v) for v in r["per_target"].values())
            lines.append(f"| `GET {r['path']}` | {count} | {r['rps']:.1f} | {r['p50_us'] / 1000:.2f} | "
                         f"{r['p99_us'] / 1000:.2f} | {r['non2xx']} | {r['socket_errors']} | {spread} |")
    lines += ["", "Socket errors are wrk's connect, read, write and timeout errors.",
              f"Both replicas answered /readyz after the run: {'yes' if report['readyAfter'] else '**no**'}.", ""]
    return "\n".join(lines)


def main():
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk (make bench installs it)", file=sys.stderr)
        return 2
    target = os.environ.get("CARGO_TARGET_DIR") or (
        "/var/cache/katalusis/target-main" if os.path.isdir("/var/cache/katalusis/target-main")
        else os.path.join(ROOT, "target"))
    binary = os.environ.get("BENCH_BINARY") or os.path.join(target, "release", "katalusis-api")
    if not os.environ.get("BENCH_BINARY") and not os.environ.get("BENCH_SKIP_BUILD"):
        subprocess.run(["cargo", "build", "--release", "-p", "katalusis-api-server", "--bin", "katalusis-api"],
                       cwd=ROOT, check=True, env=dict(os.environ, CARGO_TARGET_DIR=target))
    base = os.environ.get("BENCH_DATABASE_SERVER", "mysql://root@127.0.0.1:3306").rstrip("/")
    db = f"katalusis_replicas_bench_{os.getpid()}"
    mysql(base, f"CREATE DATABASE {db}")
    replicas = []
    try:
        first = Replica(binary, f"{base}/{db}", "bench-replica-1")
        replicas.append(first)
        first.wait_ready()
        login, wf, run, waited, unfinished = seed(first.port)
        print(f"seeded {WORKFLOWS} workflows and {RUNS} runs (waited {waited} s for the runs)", flush=True)
        paths = [("workflow list", "/api/workflows?perPage=50"), ("workflow", f"/api/workflows/{wf}"),
                 ("run list", "/api/runs?perPage=50"), ("run", f"/api/runs/{run}"),
                 # The floor, and the floor plus the session check and one user read:
                 # what a per-request session cache could save at most.
                 ("liveness", "/healthz"), ("current user", "/api/auth/me")]
        one = measure("1 replica", [first], first.port, login, paths)
        second = Replica(binary, f"{base}/{db}", "bench-replica-2")
        replicas.append(second)
        second.wait_ready()
        two = measure("2 replicas", [first, second], first.port, login, paths)
        ready_after = all(r.ready() for r in replicas)
        report = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"nproc": command_output(["nproc"]), "freeG": command_output(["free", "-g"]),
                        "cpuModel": cpu_model(), "platform": platform.platform()},
            "binary": binary,
            "wrk": {"threads": one[paths[0][0]]["threads"], "connections": one[paths[0][0]]["connections"],
                    "durationSeconds": DURATION},
            "seed": {"workflows": WORKFLOWS, "runs": RUNS, "unfinishedRuns": unfinished, "runWaitSeconds": waited},
            "one": one, "two": two, "readyAfter": ready_after,
        }
        out_dir = os.path.join(ROOT, "bench", "results")
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, f"replicas-{time.strftime('%Y%m%d-%H%M%S')}.json")
        with open(path, "w") as f:
            json.dump(report, f, indent=2)
        with open(os.path.join(out_dir, "replicas.md"), "w") as f:
            f.write(markdown(report))
        print(f"written {os.path.relpath(path, ROOT)} and bench/results/replicas.md")
        return 0 if ready_after else 1
    finally:
        for r in reversed(replicas):
            r.stop()
        mysql(base, f"DROP DATABASE IF EXISTS {db}", check=False)


if __name__ == "__main__":
    sys.exit(main())
