#!/usr/bin/env python3
"""Task import benchmark through the real HTTP API (release build).

Writes 100,000 rows x 10 columns as CSV and XLSX (the rows of the criterion
bench, import/tests/common/mod.rs; the XLSX with openpyxl), starts the API
server against a fresh database, and as a manager importing into their client
times, for each file: the upload (stream, sniff, parse, store) and the dry run
(parse again and validate every row); then applies the CSV and times it from
the request until the job row says `applied`. Peak memory of the server is its
VmHWM from /proc/PID/status at the end (so it covers every step). Writes the
numbers, the load average and the machine to bench/results/import-*.json and
adds the criterion results of `cargo bench -p katalusis-import` when present.
Needs openpyxl (`make bench` runs it with the venv that has it). Targets (issue 11): CSV parse + dry run <= 2 s, apply <= 20 s,
peak server memory <= 300 MB, XLSX parse + dry run <= 5 s.

    BENCH_IMPORT_ROWS=100000   rows per file
    BENCH_BINARY=path          server binary (default: release build)
    BENCH_SKIP_BUILD=1         use the binaries as they are
    BENCH_DATABASE_SERVER=mysql://root@127.0.0.1:3306
"""

import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
ADMIN_PASSWORD = "bench-admin-password"
PASSWORD = "bench-user-password"


STATUSES = ["New", "In Progress", "Done", "On Hold"]
PRIORITIES = ["Low", "Medium", "High", "P1"]
OWNERS = ["mia@example.com", "acme", ""]
HEADERS = ["ID", "Title", "Description", "Status", "Priority", "Assignee", "Due date", "Tags", "Estimate", "Component"]


def rows(n):
    """The rows of `csv_rows`/`xlsx_rows` in import/tests/common/mod.rs."""
    for i in range(n):
        yield [f"T-{i}", f"Task number {i} of the migration", f"Details for {i}, with a comma",
               STATUSES[i % 4], PRIORITIES[i % 4], OWNERS[i % 3], (i % 12 + 1, i % 28 + 1),
               f"ops, q{i % 4 + 1}", i % 8 + 0.5, "api"]


def csv_file(n):
    out = [",".join(HEADERS)]
    for r in rows(n):
        out.append(f'{r[0]},{r[1]},"{r[2]}",{r[3]},{r[4]},{r[5]},2026-{r[6][0]:02}-{r[6][1]:02},"{r[7]}",{r[8]},{r[9]}')
    return ("\n".join(out) + "\n").encode()


def xlsx_file(n, path):
    import datetime
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Tasks")
    ws.append(HEADERS)
    for r in rows(n):
        due = WriteOnlyCell(ws, value=datetime.date(2026, *r[6]))
        due.number_format = "yyyy-mm-dd"
        ws.append(r[:6] + [due] + r[7:])
    wb.save(path)
    with open(path, "rb") as f:
        return f.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port, token=None):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.token = token

    def raw(self, method, path, body=None, content_type="application/json"):
        headers = {"Content-Type": content_type}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.conn.request(method, path, body, headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def call(self, method, path, body=None):
        return self.raw(method, path, json.dumps(body) if body is not None else None)

    def login(self, login, password):
        self.token = self.call("POST", "/api/auth/login", {"login": login, "password": password})["accessToken"]
        return self

    def upload(self, name, content):
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return self.raw("POST", "/api/tasks/import", body, f"multipart/form-data; boundary={boundary}")


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0]) // 1024  # MiB
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def criterion_results(target):
    """Mean times of `cargo bench -p katalusis-import`, when it ran."""
    out = {}
    base = os.path.join(target, "criterion", "import_100k_x10")
    for name in ("csv_parse_and_dry_run", "xlsx_parse_and_dry_run"):
        path = os.path.join(base, name, "new", "estimates.json")
        if os.path.exists(path):
            with open(path) as f:
                est = json.load(f)
            out[name] = {"mean_s": round(est["mean"]["point_estimate"] / 1e9, 3),
                         "measured": time.strftime("%Y-%m-%d %H:%M", time.gmtime(os.path.getmtime(path)))}
    return out


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return r, round(time.perf_counter() - t0, 3)


def parse_and_dry_run(mia, name, content, client):
    up, upload_s = timed(lambda: mia.upload(name, content))
    iid = up["import"]["id"]
    dry, dry_s = timed(lambda: mia.call("POST", f"/api/tasks/imports/{iid}/dry-run", {
        "clientId": client, "mapping": up["preview"]["suggested"]}))
    if dry["valid"] != ROWS or dry["invalid"] != 0:
        raise RuntimeError(f"{name}: expected {ROWS} valid rows, got {dry['valid']} valid, {dry['invalid']} invalid")
    return iid, {"bytes": len(content), "upload_s": upload_s, "dry_run_s": dry_s,
                 "parse_and_dry_run_s": round(upload_s + dry_s, 3)}


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.environ.get("BENCH_BINARY") or os.path.join(target, "release", "katalusis-api")
    files = tempfile.mkdtemp(prefix="katalusis-import-bench-")
    skip_build = bool(os.environ.get("BENCH_SKIP_BUILD"))
    if not os.environ.get("BENCH_BINARY") and not skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "katalusis-api-server", "--bin", "katalusis-api"],
                       cwd=ROOT, check=True)
    csv = csv_file(ROWS)
    xlsx = xlsx_file(ROWS, os.path.join(files, f"tasks-{ROWS}.xlsx"))

    port = free_port()
    db = f"katalusis_import_bench_{os.getpid()}"
    base = os.environ.get("BENCH_DATABASE_SERVER", "mysql://root@127.0.0.1:3306")
    env = dict(os.environ, DATABASE_URL=f"{base}/{db}", KATALUSIS_BIND=f"127.0.0.1:{port}",
               KATALUSIS_ADMIN_PASSWORD=ADMIN_PASSWORD, KATALUSIS_JWT_SECRET="bench-secret-" + "x" * 32,
               KATALUSIS_LOG="warn", KATALUSIS_STARTER_LIBRARY="false",
               # The generated CSV is 12.5 MB, above the 10 MiB default.
               KATALUSIS_IMPORT_MAX_BYTES=str(32 * 1024 * 1024),
               KATALUSIS_ARGON2_MEMORY_KIB="1024", KATALUSIS_ARGON2_ITERATIONS="1")
    server = subprocess.Popen([binary], cwd=ROOT, env=env)
    load_before = loadavg()
    try:
        for _ in range(300):
            try:
                Api(port).call("GET", "/readyz")
                break
            except (OSError, RuntimeError):
                time.sleep(0.1)
        admin = Api(port).login("admin", ADMIN_PASSWORD)

        def user(name, role):
            return admin.call("POST", "/api/admin/users", {
                "username": name, "email": f"{name}@example.com", "displayName": name,
                "role": role, "password": PASSWORD})["id"]

        mia_id, acme = user("mia", "manager"), user("acme", "client")
        admin.call("PUT", f"/api/admin/managers/{mia_id}/clients/{acme}")
        mia = Api(port).login("mia", PASSWORD)
        rss_idle = proc_status(server.pid)

        results = {}
        _, results["xlsx"] = parse_and_dry_run(mia, f"tasks-{ROWS}.xlsx", xlsx, acme)
        print(f"XLSX {len(xlsx)} bytes: upload {results['xlsx']['upload_s']} s, dry run {results['xlsx']['dry_run_s']} s")
        iid, results["csv"] = parse_and_dry_run(mia, f"tasks-{ROWS}.csv", csv, acme)
        print(f"CSV {len(csv)} bytes: upload {results['csv']['upload_s']} s, dry run {results['csv']['dry_run_s']} s")

        peak_rss = 0
        t0 = time.perf_counter()
        mia.call("POST", f"/api/tasks/imports/{iid}/apply", {"mode": "all_or_nothing"})
        while True:
            s = mia.call("GET", f"/api/tasks/imports/{iid}")
            peak_rss = max(peak_rss, proc_status(server.pid)["VmRSS"])
            if s["state"] in ("applied", "failed"):
                break
            time.sleep(0.1)
        apply_s = round(time.perf_counter() - t0, 3)
        if s["state"] != "applied" or s["created"] != ROWS:
            raise RuntimeError(f"apply ended {s['state']} with {s.get('created')} created: {s.get('message')}")
        results["csv"]["apply_s"] = apply_s
        print(f"CSV apply of {ROWS} rows: {apply_s} s ({ROWS / apply_s:.0f} rows/s)")
        status = proc_status(server.pid)
        results["server_memory_mib"] = {"idle_rss": rss_idle["VmRSS"], "peak_rss_sampled_during_apply": peak_rss,
                                        "peak_vmhwm": status["VmHWM"]}
        print(f"server memory: idle {rss_idle['VmRSS']} MiB, peak (VmHWM) {status['VmHWM']} MiB")
        results["criterion"] = criterion_results(target)
        for k, v in results["criterion"].items():
            print(f"criterion {k}: {v['mean_s']} s")
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        out = os.path.join(ROOT, "bench", "results", f"import-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json")
        with open(out, "w") as f:
            json.dump({"rows": ROWS, "columns": 10, "binary": binary,
                       "load_average_before": load_before, "load_average_after": loadavg(),
                       "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                   "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
                       "targets": {"csv_parse_and_dry_run_s": 2, "csv_apply_s": 20, "peak_server_mib": 300,
                                   "xlsx_parse_and_dry_run_s": 5},
                       "results": results}, f, indent=2)
        print(f"wrote {out} (load average {load_before} before, {loadavg()} after)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["mysql", "-h", "127.0.0.1", "-u", "root", "-e", f"DROP DATABASE IF EXISTS {db}"],
                       check=False)
        for name in os.listdir(files):
            os.remove(os.path.join(files, name))
        os.rmdir(files)


if __name__ == "__main__":
    sys.exit(main())
