#!/usr/bin/env python3
"""L, T1 and T40 on Katalusis (bench/run_bench.py) and on n8n
(bench/n8n_bench.py), interleaved: round after round, one then the other,
so both see the same state of a shared machine. Prints every round and the
medians, and writes them as JSON to bench/results/. Stdlib only.

    BENCH_ROUNDS=3     rounds
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
METRICS = (("L", "median_s", "s"), ("T1", "runs_per_s", "runs/s"), ("T1", "play_p99_ms", "ms Play p99"),
           ("T40", "nodes_per_s", "nodes/s"))


def run(script, env):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", script)], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    written = [line.split("written ", 1)[1] for line in out.stdout.splitlines() if line.startswith("written ")]
    with open(os.path.join(ROOT, written[-1])) as f:
        return json.load(f)["scenarios"]


def main():
    env = dict(os.environ, BENCH_ONLY="L,T1,T40")
    rounds = []
    for i in range(ROUNDS):
        ours = run("run_bench.py", env)
        env["BENCH_SKIP_BUILD"] = "1"    # built once, in the first round
        theirs = run("n8n_bench.py", env)
        rounds.append({"katalusis": ours, "n8n": theirs})
        print(f"round {i + 1}: " + ", ".join(
            f"{key} {m} {ours[key][m]} vs {theirs[key][m]}" for key, m, _ in METRICS), flush=True)
    medians = {}
    for key, m, unit in METRICS:
        a = statistics.median(r["katalusis"][key][m] for r in rounds)
        b = statistics.median(r["n8n"][key][m] for r in rounds)
        medians[f"{key} {m}"] = {"katalusis": a, "n8n": b}
        print(f"{key:>4} {unit:<12} Katalusis {a:>8}   n8n {b:>8}")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", f"versus-n8n-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                   "rounds": rounds, "medians": medians}, f, indent=2)
    print(f"written {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
