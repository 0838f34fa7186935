#!/usr/bin/env python3
"""Round-trip latency of a trivial job through a warm `serve` process.

    python3 runner/bench_latency.py [--jobs 200] [--sandbox none|bwrap]

Measures from writing the job line to reading its `finished` event, one job
at a time, after a few warm-up jobs.

    python3 runner/bench_latency.py --concurrency 8 [--jobs 2000] [--sandbox bwrap]

Throughput instead: fibo(10) jobs (the engine benchmark's node) kept
`--concurrency` at a time in flight; prints jobs/s and the CPU time the
runner's process tree spent per job, split into the supervisor's own and
the job processes' (read from /proc, so it counts only this pool and not
whatever else the machine runs).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "katalusis_runner.py")


FIBO = ("def fibo(n):\n    return n if n <= 1 else fibo(n - 1) + fibo(n - 2)\n\n"
        "def run(inputs, params, ctx):\n    return {'value': fibo(int(params['n']))}\n")


def _tree_cpu(root: int) -> dict[int, tuple[float, float, int, int]]:
    """pid -> (own CPU s, CPU s of its reaped children, page faults of both,
    parent pid) for root and its descendants."""
    stat, parent = {}, {}
    tick = os.sysconf("SC_CLK_TCK")
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(p)] = int(fields[1])
        stat[int(p)] = ((int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick,
                        int(fields[7]) + int(fields[8]), int(fields[1]))

    def under(p: int) -> bool:
        while p > 1:
            if p == root:
                return True
            p = parent.get(p, 0)
        return False

    return {p: v for p, v in stat.items() if under(p)}


def throughput(proc, args) -> None:
    def job(n: int) -> bytes:
        return (json.dumps({"v": 1, "type": "job", "job": f"t{n}", "code": FIBO, "mode": "sync", "trust": args.trust,
                            "inputs": {}, "params": {"n": 10}, "outputs": [{"name": "value", "type": "integer"}],
                            "limits": {"timeout_seconds": 10, "memory_mib": 256}}) + "\n").encode()

    def wait_finished() -> None:
        while True:
            ev = json.loads(proc.stdout.readline())
            if ev["type"] == "finished":
                assert ev["status"] == "succeeded", ev
                return

    for n in range(30):
        proc.stdin.write(job(-1 - n))
        proc.stdin.flush()
        wait_finished()
    time.sleep(0.5)
    before = _tree_cpu(proc.pid)
    started = time.perf_counter()
    sent = 0
    while sent < min(args.concurrency, args.jobs):
        proc.stdin.write(job(sent))
        sent += 1
    proc.stdin.flush()
    for _ in range(args.jobs):
        wait_finished()
        if sent < args.jobs:
            proc.stdin.write(job(sent))
            proc.stdin.flush()
            sent += 1
    wall = time.perf_counter() - started
    after = _tree_cpu(proc.pid)
    # The zygote reaps the job processes; the supervisor is its parent.
    zygote = max(after, key=lambda p: after[p][1] - before.get(p, (0, 0, 0, 0))[1])
    sup = after[zygote][3]
    own = after[sup][0] - before.get(sup, (0, 0, 0, 0))[0]
    total = sum(a + b for a, b, _, _ in after.values()) - sum(a + b for a, b, _, _ in before.values())
    faults = sum(f for p, (_, _, f, _) in after.items() if p != sup) \
        - sum(f for p, (_, _, f, _) in before.items() if p != sup)
    per = 1000 / args.jobs
    print(f"sandbox={args.sandbox} trust={args.trust} concurrency={args.concurrency} jobs={args.jobs}: "
          f"{args.jobs / wall:.0f} jobs/s; runner CPU {total * per:.2f} ms/job "
          f"(supervisor {own * per:.2f}, job processes {(total - own) * per:.2f}); "
          f"{faults / args.jobs:.0f} page faults/job in the zygote and job processes")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--sandbox", default="none")
    ap.add_argument("--trust", default="restricted")
    ap.add_argument("--concurrency", type=int, default=0)
    args = ap.parse_args()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, RUNNER, "serve", "--sandbox", args.sandbox, "--trust", args.trust],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    json.loads(proc.stdout.readline())  # ready
    ready_ms = (time.perf_counter() - started) * 1000
    if args.concurrency:
        throughput(proc, args)
        proc.stdin.close()
        proc.wait()
        return
    code = "def run(inputs, params, ctx):\n    return {'y': inputs['x'] + 1}\n"
    samples, inside = [], []
    for n in range(args.jobs + 10):
        job = {"v": 1, "type": "job", "job": f"b{n}", "code": code, "mode": "sync", "trust": args.trust,
               "inputs": {"x": n}, "params": {}, "outputs": [{"name": "y", "type": "integer"}],
               "limits": {"timeout_seconds": 10, "memory_mib": 256}}
        t0 = time.perf_counter()
        proc.stdin.write(json.dumps(job).encode() + b"\n")
        proc.stdin.flush()
        while True:
            ev = json.loads(proc.stdout.readline())
            if ev["type"] == "finished":
                break
        assert ev["status"] == "succeeded", ev
        if n >= 10:
            samples.append((time.perf_counter() - t0) * 1000)
            inside.append(ev["duration_ms"])
    proc.stdin.close()
    proc.wait()
    samples.sort()
    print(f"sandbox={args.sandbox} trust={args.trust} jobs={len(samples)} pool_ready={ready_ms:.0f} ms "
          f"median={statistics.median(samples):.2f} ms p95={samples[int(len(samples) * 0.95)]:.2f} ms "
          f"max={samples[-1]:.2f} ms (runner-side duration_ms median={statistics.median(inside)} ms)")


if __name__ == "__main__":
    main()
