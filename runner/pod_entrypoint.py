#!/usr/bin/env python3
"""Entry point of a node Pod: fetch the job, run it with the runner, post the events.

Standard library only. The flow (see docs/kubernetes.md, "Ingest flow"):

1. GET  {KATALUSIS_INGEST_URL}/runs/{run_id}/nodes/{node_id}/job?attempt=N
   with ``Authorization: Bearer $KATALUSIS_RUN_TOKEN`` returns the job object:
   exactly the job line the local executor writes to the runner's stdin,
   built by the API server from the run's frozen snapshot and the stored
   outputs of the upstream nodes.
2. ``katalusis_runner.py exec --sandbox none`` runs it (the Pod's security
   context is the sandbox; the runner still applies rlimits and, for
   restricted nodes, its import guards).
3. Every event line the runner prints is POSTed, in small batches, to
   {KATALUSIS_INGEST_URL}/runs/{run_id}/nodes/{node_id}/events?attempt=N as
   ``application/x-ndjson``; the batch holding ``finished`` is sent last and
   must be acknowledged before the process exits. The API server stores the
   ``finished`` outputs exactly as the local executor does, so both
   executors produce identical results.
4. A ``ctx.query`` the node makes reaches the runner's stdout as a ``query``
   event; it is POSTed to {KATALUSIS_INGEST_URL}/runs/{run_id}/nodes/{node_id}/query?attempt=N
   and the answer goes back to the runner's stdin as ``query_result``. The
   API server runs the query on the run client's connection: database
   credentials never enter the Pod.
5. A failed node writes ``{"reason": ..., "message": ...}`` to
   ``/dev/termination-log`` and exits 1, so the operator reports the runner's
   reason (``memory``, ``timeout``, ``output_type``, ...) instead of a bare exit code.

The token is per run, lives in a Secret owned by the Run, and is only good for
that run's ingest calls; the user's JWT never reaches a Pod.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "katalusis_runner.py")
# The container's terminationMessagePath; overridable for runtimes that put it elsewhere.
TERMINATION_LOG = os.environ.get("KATALUSIS_TERMINATION_LOG", "/dev/termination-log")
BATCH_EVENTS = 64
BATCH_SECONDS = 0.5
# While the API server cannot store events (it answers 503 during a database
# outage) the entrypoint keeps them and retries for this long before giving up.
DELIVERY_SECONDS = float(os.environ.get("KATALUSIS_DELIVERY_SECONDS", "600"))
MAX_RETRY_DELAY = 8.0
MAX_MESSAGE = 3000

# Exit codes: 0 node succeeded, 1 node failed, 3 ingest unreachable or bad configuration.
EXIT_INGEST = 3


class Config:
    def __init__(self, env: dict[str, str]):
        missing = [k for k in ("KATALUSIS_INGEST_URL", "KATALUSIS_RUN_ID", "KATALUSIS_NODE_ID",
                               "KATALUSIS_ATTEMPT", "KATALUSIS_RUN_TOKEN") if not env.get(k)]
        if missing:
            raise ValueError("missing environment: " + ", ".join(missing))
        self.base = env["KATALUSIS_INGEST_URL"].rstrip("/")
        self.run_id = env["KATALUSIS_RUN_ID"]
        self.node_id = env["KATALUSIS_NODE_ID"]
        self.attempt = int(env["KATALUSIS_ATTEMPT"])
        self.token = env["KATALUSIS_RUN_TOKEN"].strip()

    def url(self, leaf: str) -> str:
        node = urllib.parse.quote(self.node_id, safe="")
        return f"{self.base}/runs/{self.run_id}/nodes/{node}/{leaf}?attempt={self.attempt}"


def request(cfg: Config, method: str, url: str, body: bytes | None = None,
            content_type: str | None = None, budget: float | None = None) -> bytes:
    """One HTTP call, retried on connection errors and 5xx answers with
    backoff (honouring ``Retry-After``) until ``budget`` seconds have passed."""
    deadline = time.monotonic() + (DELIVERY_SECONDS if budget is None else budget)
    delay = 0.25
    while True:
        req = urllib.request.Request(url, data=body, method=method)
        req.add_header("Authorization", f"Bearer {cfg.token}")
        if content_type:
            req.add_header("Content-Type", content_type)
        wait = delay
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            if e.code < 500:
                raise
            retry_after = e.headers.get("Retry-After", "") if e.headers else ""
            if retry_after.isdigit():
                wait = min(float(retry_after), MAX_RETRY_DELAY)
            if time.monotonic() + wait > deadline:
                raise
        except (urllib.error.URLError, OSError):
            if time.monotonic() + wait > deadline:
                raise
        time.sleep(wait)
        delay = min(delay * 2, MAX_RETRY_DELAY)


def termination_message(finished: dict | None) -> dict:
    """What the operator reads from the terminated container."""
    if finished is None:
        return {"reason": "error", "message": "the runner exited without a finished event"}
    if finished.get("status") == "succeeded":
        return {"reason": None, "message": ""}
    message = str(finished.get("message") or "")
    traceback = str(finished.get("traceback") or "")
    if traceback:
        message = f"{message}\n{traceback}".strip()
    return {"reason": finished.get("reason") or "error", "message": message[-MAX_MESSAGE:]}


def execute(job: dict, on_events: Callable[[list[bytes], bool], None],
            runner_cmd: list[str] | None = None,
            on_query: Callable[[dict], dict] | None = None) -> dict | None:
    """Runs one job with the real runner, hands event lines to ``on_events``
    in batches (the flag marks the last batch), returns the finished event.

    A batch goes out when it is full or ``BATCH_SECONDS`` after its first
    line, even while the node is silent, so logs stream live."""
    cmd = runner_cmd or [sys.executable, RUNNER, "exec", "--sandbox", "none"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(job).encode() + b"\n")
    proc.stdin.flush()
    # stdin stays open for the answers to ctx.query; exec mode ends with its job.
    stdin_lock = threading.Lock()

    def answer(event: dict) -> None:
        try:
            reply = on_query(event) if on_query else {"ok": False, "code": "unsupported",
                                                       "message": "queries are not available here"}
        except Exception as e:  # the node gets the reason, the Pod goes on
            reply = {"ok": False, "code": "unreachable", "message": f"the API server did not answer: {e}"}
        line = {**reply, "v": 1, "type": "query_result", "job": event.get("job"), "id": event.get("id")}
        with stdin_lock:
            try:
                proc.stdin.write(json.dumps(line).encode() + b"\n")
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass
    lines: queue.Queue[bytes | None] = queue.Queue()

    def read(stdout) -> None:
        for line in stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, args=(proc.stdout,), daemon=True)
    reader.start()
    batch: list[bytes] = []
    deadline = None
    finished = None
    while True:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            on_events(batch, False)
            batch, deadline = [], None
            continue
        if line is None:
            break
        if not line.strip():
            continue
        batch.append(line if line.endswith(b"\n") else line + b"\n")
        if deadline is None:
            deadline = time.monotonic() + BATCH_SECONDS
        try:
            event = json.loads(line)
        except ValueError:
            event = {}
        if event.get("type") == "query":
            batch.pop()     # a question for the platform, not an event to store
            threading.Thread(target=answer, args=(event,), daemon=True).start()
            continue
        if event.get("type") == "finished":
            finished = event
        elif len(batch) >= BATCH_EVENTS:
            on_events(batch, False)
            batch, deadline = [], None
    reader.join()
    with stdin_lock:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
    proc.stdout.close()
    proc.wait()
    on_events(batch, True)
    return finished


def write_termination_log(message: dict, path: str = TERMINATION_LOG) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(message, f)
    except OSError:
        pass  # not in a container (tests, local runs)


def main() -> int:
    try:
        cfg = Config(dict(os.environ))
    except ValueError as e:
        sys.stderr.write(f"pod_entrypoint: {e}\n")
        write_termination_log({"reason": "error", "message": str(e)})
        return EXIT_INGEST
    try:
        job = json.loads(request(cfg, "GET", cfg.url("job")))
    except (urllib.error.URLError, OSError, ValueError) as e:
        msg = f"could not fetch the job from the API server: {e}"
        sys.stderr.write(f"pod_entrypoint: {msg}\n")
        write_termination_log({"reason": "interrupted", "message": msg})
        return EXIT_INGEST

    def deliver(lines: list[bytes], last: bool) -> None:
        if lines:
            request(cfg, "POST", cfg.url("events"), b"".join(lines), "application/x-ndjson")

    def query(event: dict) -> dict:
        body = {k: event[k] for k in ("connection", "sql", "params", "max_rows") if k in event}
        try:
            return json.loads(request(cfg, "POST", cfg.url("query"), json.dumps(body).encode(),
                                      "application/json", budget=60))
        except urllib.error.HTTPError as e:
            return {"ok": False, "code": "refused", "message": f"the API server refused the query ({e.code})"}

    try:
        finished = execute(job, deliver, on_query=query)
    except (urllib.error.URLError, OSError) as e:
        msg = f"could not deliver events to the API server: {e}"
        sys.stderr.write(f"pod_entrypoint: {msg}\n")
        write_termination_log({"reason": "interrupted", "message": msg})
        return EXIT_INGEST
    message = termination_message(finished)
    if message["reason"] is None:
        return 0
    write_termination_log(message)
    # The log tail is the fallback termination message, so repeat the reason there too.
    sys.stderr.write(json.dumps(message) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
