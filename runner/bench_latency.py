#!/usr/bin/env python3
"""Round-trip latency of a trivial job through a warm `serve` process.

    python3 runner/bench_latency.py [--jobs 200] [--sandbox none|bwrap]

Measures from writing the job line to reading its `finished` event, one job
at a time, after a few warm-up jobs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "katalusis_runner.py")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--sandbox", default="none")
    ap.add_argument("--trust", default="restricted")
    args = ap.parse_args()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, RUNNER, "serve", "--sandbox", args.sandbox, "--trust", args.trust],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    json.loads(proc.stdout.readline())  # ready
    ready_ms = (time.perf_counter() - started) * 1000
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
