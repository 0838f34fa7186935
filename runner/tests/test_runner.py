"""Behaviour of the runner without the OS sandbox (`serve --sandbox none`)."""

import base64
import hashlib
import json
import textwrap
import time
import unittest
from functools import partial

import os
import subprocess

from runner_harness import PYTHON, RUNNER, Pool, is_process_gone, make_job, run_exec

POOL: Pool


def setUpModule():
    global POOL
    POOL = Pool()


def tearDownModule():
    POOL.close()


def code(src: str) -> str:
    return textwrap.dedent(src).lstrip("\n")


class HappyPath(unittest.TestCase):
    def test_sync_node_returns_outputs_and_reports_logs_and_progress(self):
        job = make_job(code("""
            def run(inputs, params, ctx):
                ctx.log("starting " + ctx.run_id + "/" + ctx.node_id + "/" + str(ctx.attempt))
                ctx.log("careful", level="warning")
                ctx.progress(0.25, "a quarter")
                print("from print")
                return {"sum": inputs["a"] + params["b"], "tmp": ctx.tmp_dir != ""}
        """), inputs={"a": 2}, params={"b": 3},
            outputs=[{"name": "sum", "type": "integer", "required": True},
                     {"name": "tmp", "type": "boolean", "required": True}])
        fin = POOL.run(job)
        self.assertEqual(fin["status"], "succeeded", fin)
        self.assertEqual(fin["outputs"], {"sum": 5, "tmp": True})
        self.assertIsInstance(fin["duration_ms"], int)
        events = POOL.events_of(job["job"])
        self.assertEqual(events[0]["type"], "started")
        self.assertEqual(events[-1]["type"], "finished")
        self.assertTrue(all(e["v"] == 1 and e["job"] == job["job"] for e in events))
        logs = POOL.logs(job["job"])
        self.assertIn(("info", "ctx", "starting run-1/node-a/1"), [(e["level"], e["stream"], e["msg"]) for e in logs])
        self.assertIn(("warning", "ctx", "careful"), [(e["level"], e["stream"], e["msg"]) for e in logs])
        self.assertIn(("stdout", "from print"), [(e["stream"], e["msg"]) for e in logs])
        progress = [e for e in events if e["type"] == "progress"]
        self.assertEqual([(p["fraction"], p["message"]) for p in progress], [(0.25, "a quarter")])

    def test_async_node_runs_under_asyncio(self):
        job = make_job(code("""
            import asyncio
            async def run(inputs, params, ctx):
                a, b = await asyncio.gather(asyncio.sleep(0.01, result=1), asyncio.sleep(0.01, result=2))
                return {"n": a + b + 0.5}
        """), mode="async", outputs=[{"name": "n", "type": "number", "required": True}])
        fin = POOL.run(job)
        self.assertEqual((fin["status"], fin.get("outputs")), ("succeeded", {"n": 3.5}), fin)

    def test_files_and_binary_values_travel_both_ways(self):
        job = make_job(code("""
            import csv
            def run(inputs, params, ctx):
                with open(inputs["table"], newline="") as f:
                    rows = list(csv.reader(f))
                with open(params["template"]) as f:
                    template = f.read()
                with open(ctx.tmp_dir + "/made.txt", "w") as f:
                    f.write("from a path")
                return {
                    "rows": len(rows),
                    "blob": inputs["blob"][::-1],
                    "report": ctx.write_file("report.txt", template.format(n=len(rows)).encode()),
                    "copy": ctx.write_file("copy.txt", ctx.tmp_dir + "/made.txt"),
                }
        """),
            inputs={"table": {"$file": {"name": "t.csv", "b64": base64.b64encode(b"a,b\n1,2\n3,4\n").decode()}},
                    "blob": {"$bytes": base64.b64encode(b"\x00\x01\xff").decode()}},
            params={"template": {"$file": {"name": "tpl.txt", "b64": base64.b64encode(b"rows={n}").decode()}}},
            outputs=[{"name": "rows", "type": "integer"}, {"name": "blob", "type": "binary"},
                     {"name": "report", "type": "file"}, {"name": "copy", "type": "file"}])
        fin = POOL.run(job)
        self.assertEqual(fin["status"], "succeeded", fin)
        out = fin["outputs"]
        self.assertEqual(out["rows"], 3)
        self.assertEqual(base64.b64decode(out["blob"]["$bytes"]), b"\xff\x01\x00")
        report = out["report"]["$file"]
        self.assertEqual(report["name"], "report.txt")
        self.assertEqual(base64.b64decode(report["b64"]), b"rows=3")
        self.assertEqual(report["size"], 6)
        self.assertEqual(report["sha256"], hashlib.sha256(b"rows=3").hexdigest())
        self.assertEqual(base64.b64decode(out["copy"]["$file"]["b64"]), b"from a path")


class OutputChecks(unittest.TestCase):
    def assert_output_type_failure(self, src, outputs, *fragments):
        fin = POOL.run(make_job(code(src), outputs=outputs))
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "output_type"), fin)
        for fragment in fragments:
            self.assertIn(fragment, fin["message"])

    def test_wrong_type_names_port_and_types(self):
        self.assert_output_type_failure("def run(i, p, c):\n    return {'count': True}\n",
                                        [{"name": "count", "type": "integer"}], "'count'", "integer", "boolean")

    def test_missing_required_port_fails(self):
        self.assert_output_type_failure("def run(i, p, c):\n    return {}\n",
                                        [{"name": "x", "type": "string", "required": True}], "'x'", "missing")

    def test_optional_port_may_be_absent(self):
        fin = POOL.run(make_job("def run(i, p, c):\n    return {}\n",
                                outputs=[{"name": "x", "type": "string", "required": False}]))
        self.assertEqual(fin["status"], "succeeded", fin)

    def test_unknown_port_fails(self):
        self.assert_output_type_failure("def run(i, p, c):\n    return {'x': 's', 'extra': 1}\n",
                                        [{"name": "x", "type": "string"}], "'extra'")

    def test_non_dict_result_fails(self):
        self.assert_output_type_failure("def run(i, p, c):\n    return [1]\n", [], "dict", "array")

    def test_file_port_needs_a_write_file_ref(self):
        self.assert_output_type_failure("def run(i, p, c):\n    return {'f': {'$file': {'path': '/etc/passwd'}}}\n",
                                        [{"name": "f", "type": "file"}], "'f'", "write_file")

    def test_oversized_outputs_fail_with_both_sizes(self):
        fin = POOL.run(make_job("def run(i, p, c):\n    return {'s': 'x' * 5000}\n",
                                outputs=[{"name": "s", "type": "string"}], limits={"max_output_bytes": 1000}))
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "output_size"), fin)
        self.assertIn("5008 bytes", fin["message"])
        self.assertIn("1000 bytes", fin["message"])


class Failures(unittest.TestCase):
    def test_exception_reports_summary_and_traceback(self):
        job = make_job(code("""
            def helper(x):
                return 1 / x
            def run(inputs, params, ctx):
                return {"y": helper(0)}
        """))
        fin = POOL.run(job)
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "error"), fin)
        self.assertEqual(fin["message"], "ZeroDivisionError: division by zero")
        self.assertIn('File "<node>", line 4, in run', fin["traceback"])
        self.assertIn("return 1 / x", fin["traceback"])
        self.assertNotIn("katalusis_runner.py", fin["traceback"])
        errors = [e for e in POOL.logs(job["job"]) if e["level"] == "error"]
        self.assertTrue(any("ZeroDivisionError" in e["msg"] for e in errors), errors)

    def test_timeout_kills_the_whole_process_group(self):
        job = make_job(code("""
            import os, time
            def run(inputs, params, ctx):
                pid = os.fork()
                if pid == 0:
                    while True:
                        time.sleep(0.05)
                ctx.log(f"grandchild {pid}")
                while True:
                    pass
        """), trust="trusted", limits={"timeout_seconds": 1})
        started = time.monotonic()
        fin = POOL.run(job)
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "timeout"), fin)
        self.assertLess(time.monotonic() - started, 5)
        grandchild = int(next(e["msg"].split()[1] for e in POOL.logs(job["job"]) if e["msg"].startswith("grandchild")))
        deadline = time.monotonic() + 3
        while not is_process_gone(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(is_process_gone(grandchild), f"grandchild {grandchild} survived the timeout")

    def test_memory_limit_maps_to_memory(self):
        fin = POOL.run(make_job("def run(i, p, c):\n    x = bytearray(2 << 30)\n    return {}\n",
                                limits={"memory_mib": 256}))
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "memory"), fin)
        self.assertIn("256 MiB", fin["message"])

    def test_cpu_limit_maps_to_cpu(self):
        fin = POOL.run(make_job("def run(i, p, c):\n    while True:\n        pass\n",
                                limits={"cpu_seconds": 1, "timeout_seconds": 20}))
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "cpu"), fin)

    def test_cancel_stops_a_running_job(self):
        job_id = POOL.submit(make_job("import time\ndef run(i, p, c):\n    time.sleep(30)\n    return {}\n"))
        POOL.wait_for(job_id, "started")
        time.sleep(0.1)
        sent = time.monotonic()
        POOL.send({"v": 1, "type": "cancel", "job": job_id})
        fin = POOL.finished(job_id, timeout=5)
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "cancelled"), fin)
        self.assertLess(time.monotonic() - sent, 2)

    def test_sync_mode_rejects_a_coroutine_function(self):
        fin = POOL.run(make_job("async def run(i, p, c):\n    return {}\n"))
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "error"), fin)
        self.assertIn("async", fin["message"])


class Concurrency(unittest.TestCase):
    def test_several_jobs_run_concurrently_in_one_pool(self):
        src = "import time\ndef run(i, p, c):\n    time.sleep(0.5)\n    return {'n': i['n']}\n"
        jobs = [make_job(src, inputs={"n": n}, outputs=[{"name": "n", "type": "integer"}]) for n in range(8)]
        started = time.monotonic()
        for job in jobs:
            POOL.submit(job)
        results = [POOL.finished(job["job"]) for job in jobs]
        elapsed = time.monotonic() - started
        self.assertEqual([r["outputs"]["n"] for r in results], list(range(8)))
        self.assertLess(elapsed, 2.5, "jobs did not overlap")


class Logging(unittest.TestCase):
    def test_secret_values_are_masked_everywhere(self):
        job = make_job(code("""
            import os, sys
            def run(inputs, params, ctx):
                ctx.log("token is " + params["token"])
                print("stdout", params["token"])
                print("stderr", params["token"], file=sys.stderr)
                os.write(1, ("raw " + str(params["pin"]) + "\\n").encode())
                raise RuntimeError("failed with " + params["token"])
        """), trust="trusted", params={"token": "hunter2-secret", "pin": 4711, "public": "visible"},
            secret_params=["token", "pin"])
        fin = POOL.run(job)
        self.assertEqual(fin["reason"], "error", fin)
        # Without the runner's own numbers (a timestamp may well contain 4711).
        everything = json.dumps([{k: v for k, v in e.items() if k not in ("ts", "pid", "duration_ms")}
                                 for e in POOL.events_of(job["job"])])
        self.assertNotIn("hunter2-secret", everything)
        self.assertNotIn("4711", everything)
        self.assertIn("token is ***", everything)
        self.assertIn("raw ***", everything)
        self.assertEqual(fin["message"], "RuntimeError: failed with ***")
        streams = {e["stream"] for e in POOL.logs(job["job"])}
        self.assertEqual(streams, {"ctx", "stdout", "stderr"})

    def test_log_keeps_head_and_tail_within_the_limit(self):
        job = make_job(code("""
            def run(inputs, params, ctx):
                for n in range(2000):
                    print(f"line {n:05d}")
                return {}
        """), limits={"max_log_bytes": 2000})
        fin = POOL.run(job)
        self.assertEqual(fin["status"], "succeeded", fin)
        logs = POOL.logs(job["job"])
        msgs = [e["msg"] for e in logs]
        self.assertEqual(msgs[0], "line 00000")
        self.assertEqual(msgs[-1], "line 01999")
        notices = [m for m in msgs if "dropped" in m]
        self.assertEqual(len(notices), 1, notices)
        kept = [m for m in msgs if m.startswith("line ")]
        self.assertIn(f"dropped {2000 - len(kept)} lines", notices[0])
        self.assertLessEqual(sum(len(m) + 1 for m in kept), 2000)


class ExecMode(unittest.TestCase):
    def test_exec_runs_one_job_and_exits_with_its_status(self):
        code_ok, events, _ = run_exec(make_job("def run(i, p, c):\n    return {'x': 1}\n",
                                               outputs=[{"name": "x", "type": "integer"}]))
        self.assertEqual(code_ok, 0)
        self.assertEqual([e["type"] for e in events], ["started", "finished"])
        code_bad, events, _ = run_exec(make_job("def run(i, p, c):\n    raise ValueError('no')\n"))
        self.assertEqual(code_bad, 1)
        self.assertEqual(events[-1]["reason"], "error")


def first_ctx_log(pool: Pool, job_id: str) -> str:
    return next(e["msg"] for e in pool.logs(job_id) if e["stream"] == "ctx")


class Lifecycle(unittest.TestCase):
    def test_closing_stdin_stops_the_pool_and_its_children(self):
        pool = Pool()
        job_id = pool.submit(make_job("import time\ndef run(i, p, c):\n    time.sleep(60)\n", trust="trusted"))
        pid = pool.wait_for(job_id, "started")["pid"]
        started = time.monotonic()
        self.assertEqual(pool.close(), 0)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(pool.finished(job_id)["reason"], "cancelled")
        self.assertTrue(is_process_gone(pid))

    def assert_preloaded(self, pool: Pool, names: tuple[str, ...], expected: list[str]):
        """Of `names`, the modules two new job processes find loaded before importing anything."""
        probe = code(f"""
            import sys
            def run(inputs, params, ctx):
                return {{"loaded": sorted(m for m in {names!r} if m in sys.modules)}}
        """)
        for _ in range(2):
            fin = pool.run(make_job(probe, trust="trusted",
                                    outputs=[{"name": "loaded", "type": "array", "required": True}]))
            self.assertEqual(fin.get("outputs"), {"loaded": expected}, fin)

    def test_a_pool_loads_asyncio_into_its_job_processes_at_its_first_async_job(self):
        # Until then its job processes are forked without it (cheaper to
        # fork and end); an async job that comes first loads it itself.
        pool = Pool()
        try:
            self.assert_preloaded(pool, ("asyncio",), [])
            fin = pool.run(make_job(code("""
                import asyncio
                async def run(inputs, params, ctx):
                    return {"n": await asyncio.sleep(0.01, result=3)}
            """), mode="async", outputs=[{"name": "n", "type": "integer", "required": True}]))
            self.assertEqual(fin.get("outputs"), {"n": 3}, fin)
            self.assert_preloaded(pool, ("asyncio",), ["asyncio"])
        finally:
            pool.close()

    def test_job_processes_start_with_the_code_of_a_node_that_ran_compiled(self):
        # The zygote compiles a source once a job with it succeeded; the lines
        # list of its linecache entry then comes from the zygote, frozen and
        # so outside what gc.get_objects() lists in the job process.
        probe = code("""
            import gc, linecache
            def run(inputs, params, ctx):
                lines = linecache.cache["<node>"][2]
                if params.get("fail"):
                    raise ValueError("asked to fail")
                return {"inherited": not any(o is lines for o in gc.get_objects())}
        """)
        other = probe.replace("asked to fail", "asked to fail, too")
        job = partial(make_job, trust="trusted", outputs=[{"name": "inherited", "type": "boolean"}])
        pool = Pool()
        try:
            first = pool.run(job(probe))["outputs"]["inherited"]
            pool.run(job(probe))   # its process may have been forked before the zygote compiled
            third = pool.run(job(probe))["outputs"]["inherited"]
            changed = pool.run(job(other))["outputs"]["inherited"]
            failed = pool.run(job(probe, params={"fail": True}))
        finally:
            pool.close()
        self.assertEqual((first, third, changed), (False, True, False))
        # The traceback still shows the node's lines.
        self.assertEqual(failed["reason"], "error", failed)
        self.assertIn('raise ValueError("asked to fail")', failed["traceback"])

    def test_a_pool_gets_the_directories_site_would_add_but_runs_no_pth_import_line(self):
        probe = code(f"""
            import json, os, site, sys, tempfile
            sys.path.insert(0, {os.path.dirname(RUNNER)!r})
            import katalusis_runner as kr
            top = tempfile.mkdtemp()
            for d in ("extra", "other"):
                os.mkdir(os.path.join(top, d))
            with open(os.path.join(top, "a.pth"), "w") as f:
                f.write("# comment\\nextra\\nimport os; os.environ['PTH_RAN'] = '1'\\nmissing\\n\\n")
            with open(os.path.join(top, "b.pth"), "w") as f:
                f.write(os.path.join(top, "other") + "\\n")
            site.getsitepackages = lambda: [top, os.path.join(top, "absent")]
            print(json.dumps({{"top": top, "paths": kr._site_paths(), "ran": os.environ.get("PTH_RAN")}}))
        """)
        out = json.loads(subprocess.run([PYTHON, "-I", "-c", probe], capture_output=True, text=True,
                                        check=True).stdout)
        top = os.path.realpath(out["top"])
        self.assertEqual([os.path.realpath(p) for p in out["paths"]],
                         [top, os.path.join(top, "extra"), os.path.join(top, "other")])
        self.assertIsNone(out["ran"])

    def test_a_job_reports_the_preloadable_modules_it_loaded(self):
        # Read from the end of sys.modules: what the job added, of
        # PRELOADABLE, and nothing that was loaded before it.
        probe = code(f"""
            import json, sys
            sys.path.insert(0, {os.path.dirname(RUNNER)!r})
            import katalusis_runner as kr
            loaded = [m for m in kr.PRELOADABLE if m in sys.modules]
            before = len(sys.modules)
            import fractions, xml.dom.minidom
            print(json.dumps({{"learned": kr._loaded_since(before), "after": kr._loaded_since(len(sys.modules)),
                              "loaded": loaded, "preloadable": sorted(kr.PRELOADABLE)}}))
        """)
        out = json.loads(subprocess.run([PYTHON, "-I", "-c", probe], capture_output=True, text=True,
                                        check=True).stdout)
        self.assertIn("fractions", out["learned"])
        self.assertNotIn("xml.dom.minidom", out["learned"])
        self.assertLessEqual(set(out["learned"]), set(out["preloadable"]) - set(out["loaded"]))
        self.assertEqual(out["after"], [])

    def test_a_pool_loads_what_its_jobs_imported_into_the_job_processes_after_them(self):
        # A pool starts without the modules nodes may import; once a job
        # imported one, the job processes forked after it start with it.
        pool = Pool()
        try:
            self.assert_preloaded(pool, ("statistics", "difflib"), [])
            fin = pool.run(make_job(code("""
                import statistics
                def run(inputs, params, ctx):
                    return {"m": statistics.median([1, 5, 3])}
            """), outputs=[{"name": "m", "type": "integer", "required": True}]))
            self.assertEqual(fin.get("outputs"), {"m": 3}, fin)
            self.assert_preloaded(pool, ("statistics", "difflib"), ["statistics"])
            # A module outside what pools preload is not loaded for the others.
            fin = pool.run(make_job(code("""
                import xml.dom
                def run(inputs, params, ctx):
                    return {}
            """), trust="trusted"))
            self.assertEqual(fin.get("status"), "succeeded", fin)
            self.assert_preloaded(pool, ("xml.dom",), [])
        finally:
            pool.close()

    def test_a_killed_zygote_is_replaced_and_the_jobs_it_started_end_clearly(self):
        # Without Landlock (no sandbox here) the supervisor is not the
        # subreaper: a job of the dead zygote cannot be followed, so it is
        # stopped and reported, and the pool goes on with a new zygote.
        pool = Pool()
        try:
            job = make_job(code("""
                import os, signal, time
                def run(inputs, params, ctx):
                    os.kill(os.getppid(), signal.SIGKILL)   # the zygote, reachable without a sandbox
                    time.sleep(20)
                    return {}
            """), trust="trusted")
            started = time.monotonic()
            fin = pool.run(job)
            self.assertEqual((fin["status"], fin["reason"]), ("failed", "error"), fin)
            self.assertIn("starts node processes died", fin["message"])
            self.assertLess(time.monotonic() - started, 10)
            pid = pool.wait_for(job["job"], "started")["pid"]
            deadline = time.monotonic() + 3
            while not is_process_gone(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(is_process_gone(pid), f"the job process {pid} survived")
            after = pool.run(make_job("def run(i, p, c):\n    return {'n': 7}\n",
                                      outputs=[{"name": "n", "type": "integer"}]))
            self.assertEqual(after.get("outputs"), {"n": 7}, after)
        finally:
            pool.close()

    def test_sigterm_stops_the_pool_and_removes_its_temp_root(self):
        pool = Pool()
        job_id = pool.submit(make_job("import time\ndef run(i, p, c):\n    time.sleep(60)\n",
                                      trust="trusted"))
        pid = pool.wait_for(job_id, "started")["pid"]
        probe = make_job("def run(i, p, c):\n    c.log(c.tmp_dir)\n    return {}\n")
        pool.run(probe)
        tmp_dir = first_ctx_log(pool, probe["job"])
        pool.proc.terminate()
        self.assertEqual(pool.proc.wait(timeout=5), 0)
        pool.close()
        self.assertTrue(is_process_gone(pid))
        self.assertFalse(os.path.exists(os.path.dirname(tmp_dir)))

    def test_bad_lines_get_error_events_and_the_pool_keeps_going(self):
        POOL.proc.stdin.write(b"this is not json\n")
        POOL.send({"v": 1, "type": "job", "code": "def run(i, p, c):\n    return {}\n"})
        POOL.send({"v": 2, "type": "job", "job": "x"})
        POOL.send({"v": 1, "type": "cancel", "job": "no-such-job"})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len([e for e in POOL.events_of(None) if e["type"] == "error"]) < 1:
            time.sleep(0.05)
        errors = [e for e in POOL.events_of(None) if e["type"] == "error"]
        self.assertTrue(any("JSON" in e["message"] for e in errors), errors)
        fin = POOL.run(make_job("def run(i, p, c):\n    return {}\n"))
        self.assertEqual(fin["status"], "succeeded")
        self.assertTrue(any("version" in e["message"] for e in POOL.events_of("x")))

    def test_guard_switch_is_ignored_outside_testing(self):
        job = make_job("import os\ndef run(i, p, c):\n    return {}\n", _disable_python_guards=True)
        env = {k: v for k, v in os.environ.items() if k != "KATALUSIS_RUNNER_TESTING"}
        p = subprocess.run([PYTHON, RUNNER, "exec"], input=json.dumps(job).encode() + b"\n", capture_output=True,
                           env=env, timeout=30)
        fin = json.loads(p.stdout.splitlines()[-1])
        self.assertEqual((p.returncode, fin["reason"]), (1, "sandbox"), fin)


if __name__ == "__main__":
    unittest.main()


class Queries(unittest.TestCase):
    """ctx.query: the question leaves as a `query` event, the answer comes
    back as a `query_result` input line (the platform runs the SQL)."""

    def test_a_restricted_node_asks_and_gets_rows_or_the_reason(self):
        src = code("""
            def run(i, p, c):
                rows = c.query('crm', 'SELECT name FROM t WHERE id = :id', {'id': 2}, max_rows=5)
                try:
                    c.query('crm', 'DELETE FROM t')
                    failed = None
                except Exception as e:
                    failed = [type(e).__name__, e.code, str(e)]
                return {'rows': rows, 'failed': failed}
        """)
        job = make_job(src, outputs=[{"name": "rows", "type": "array"}, {"name": "failed", "type": "array"}])
        job_id = POOL.submit(job)
        ask = POOL.wait_for(job_id, "query")
        self.assertEqual((ask["id"], ask["connection"], ask["params"], ask["max_rows"]), (1, "crm", {"id": 2}, 5))
        self.assertIn(":id", ask["sql"])
        POOL.send({"v": 1, "type": "query_result", "job": job_id, "id": 1, "ok": True,
                   "columns": ["name"], "rows": [{"name": "two"}], "row_count": 1})
        deadline = time.monotonic() + 10
        while True:
            asks = [e for e in POOL.events_of(job_id) if e["type"] == "query"]
            if len(asks) == 2:
                break
            self.assertLess(time.monotonic(), deadline, "no second query")
            time.sleep(0.02)
        # An answer to a question never asked is ignored.
        POOL.send({"v": 1, "type": "query_result", "job": job_id, "id": 99, "ok": True, "rows": []})
        POOL.send({"v": 1, "type": "query_result", "job": job_id, "id": 2, "ok": False, "code": "read_only",
                   "message": "the connection is read-only"})
        fin = POOL.finished(job_id)
        self.assertEqual(fin["status"], "succeeded", fin)
        self.assertEqual(fin["outputs"]["rows"], [{"name": "two"}])
        self.assertEqual(fin["outputs"]["failed"], ["QueryError", "read_only", "the connection is read-only"])

    def test_a_query_waiting_for_its_answer_still_times_out(self):
        job = make_job("def run(i, p, c):\n    return {'r': c.query('crm', 'SELECT 1')}\n",
                       limits={"timeout_seconds": 1})
        fin = POOL.run(job, timeout=10)
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "timeout"), fin)
