"""Test helpers: drive a real runner process over the JSON-lines protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid

RUNNER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(RUNNER_DIR, "katalusis_runner.py")
REPO_DIR = os.path.dirname(RUNNER_DIR)
PYTHON = os.path.realpath(sys.executable)


def test_env(**extra) -> dict:
    env = dict(os.environ)
    env["KATALUSIS_RUNNER_TESTING"] = "1"
    env.update(extra)
    return env


def make_job(code: str, **fields) -> dict:
    job = {
        "v": 1, "type": "job", "job": f"job-{uuid.uuid4().hex[:12]}", "run_id": "run-1", "node_id": "node-a",
        "attempt": 1, "code": code, "mode": "sync", "trust": "restricted", "inputs": {}, "params": {},
        "secret_params": [], "outputs": [],
        "limits": {"timeout_seconds": 10, "memory_mib": 256, "cpu_seconds": 10, "max_output_bytes": 1 << 20,
                   "max_log_bytes": 1 << 20, "max_file_bytes": 1 << 24},
    }
    limits = fields.pop("limits", None)
    job.update(fields)
    if limits:
        job["limits"] = {**job["limits"], **limits}
    return job


class Pool:
    """A `serve` process; events are collected per job by a reader thread."""

    def __init__(self, *args: str, env: dict | None = None):
        self.proc = subprocess.Popen([PYTHON, RUNNER, "serve", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or test_env())
        self.events: dict[str | None, list[dict]] = {}
        self.cond = threading.Condition()
        self.lines = 0
        self.bad_lines: list[bytes] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait_for(None, "ready", timeout=30)

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                self.bad_lines.append(line)
                continue
            with self.cond:
                self.lines += 1
                self.events.setdefault(ev.get("job"), []).append(ev)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, job_id, kind: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for ev in self.events.get(job_id, []):
                    if ev.get("type") == kind:
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self.reader.is_alive():
                    raise AssertionError(f"no {kind!r} event for {job_id!r} within {timeout} s; "
                                         f"stderr: {self.stderr_tail()}")
                self.cond.wait(left)

    def stderr_tail(self) -> str:
        return "" if self.proc.poll() is None else self.proc.stderr.read().decode(errors="replace")[-2000:]

    def send(self, msg: dict) -> None:
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()

    def submit(self, job: dict) -> str:
        self.send(job)
        return job["job"]

    def finished(self, job_id: str, timeout: float = 30) -> dict:
        return self.wait_for(job_id, "finished", timeout)

    def run(self, job: dict, timeout: float = 30) -> dict:
        return self.finished(self.submit(job), timeout)

    def events_of(self, job_id: str) -> list[dict]:
        with self.cond:
            return list(self.events.get(job_id, []))

    def logs(self, job_id: str) -> list[dict]:
        return [e for e in self.events_of(job_id) if e["type"] == "log"]

    def close(self) -> int:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc.stderr.close()


def run_exec(job: dict, *args: str, timeout: float = 30) -> tuple[int, list[dict], str]:
    p = subprocess.run([PYTHON, RUNNER, "exec", *args], input=json.dumps(job).encode() + b"\n",
                       capture_output=True, env=test_env(), timeout=timeout)
    events = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return p.returncode, events, p.stderr.decode(errors="replace")


def is_process_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def pids_cgroup_writable() -> bool:
    base = "/sys/fs/cgroup/pids"
    probe = os.path.join(base, f"katalusis-probe-{os.getpid()}")
    try:
        os.mkdir(probe)
        os.rmdir(probe)
        return True
    except OSError:
        return False


def host_address() -> str | None:
    """The machine's first non-loopback IPv4 address (trusted nodes reach it only when allow-listed)."""
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    except OSError:
        return None
    for line in out.splitlines():
        parts = line.split()
        addr = parts[parts.index("inet") + 1].split("/")[0]
        if not addr.startswith("127."):
            return addr
    return None
