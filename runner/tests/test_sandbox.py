"""Restricted nodes under the real bubblewrap sandbox (`serve --sandbox bwrap`).

Every escape attempt must end in a failed event and leave nothing behind
outside the job's temp dir. The second half switches the Python-level
guards off (test-only job flag) to show the OS sandbox enforces on its own.
"""

import json
import os
import signal
import socket
import subprocess
import textwrap
import time
import unittest

from runner_harness import PYTHON, REPO_DIR, RUNNER, RUNNER_DIR, Pool, make_job, pids_cgroup_writable, test_env

BWRAP = "/usr/bin/bwrap"
MARKER = os.path.join(RUNNER_DIR, "tests", "ESCAPED_MARKER")
REPO_MARKER = os.path.join(REPO_DIR, "ESCAPED_MARKER")
GUARDED: Pool
UNGUARDED: Pool


def setUpModule():
    global GUARDED, UNGUARDED
    if not os.access(BWRAP, os.X_OK):
        raise unittest.SkipTest("bubblewrap is not installed")
    # A small pids budget bounds the fork-bomb test even if everything else fails.
    GUARDED = Pool("--sandbox", "bwrap", "--trust", "restricted", "--max-pids", "64")
    UNGUARDED = Pool("--sandbox", "bwrap", "--trust", "restricted", "--max-pids", "64")


def tearDownModule():
    GUARDED.close()
    UNGUARDED.close()


def code(src: str) -> str:
    return textwrap.dedent(src).lstrip("\n")


def unguarded(src: str, **fields) -> dict:
    return make_job(code(src), _disable_python_guards=True, **fields)


class EscapeAttemptsAreBlocked(unittest.TestCase):
    def setUp(self):
        for path in (MARKER, REPO_MARKER):
            if os.path.exists(path):
                os.remove(path)

    def tearDown(self):
        for path in (MARKER, REPO_MARKER):
            self.assertFalse(os.path.exists(path), f"{path} was created from inside the sandbox")

    def assert_blocked(self, src: str, reasons=("sandbox",), fragment: str | None = None, **fields) -> dict:
        fin = GUARDED.run(make_job(code(src), **fields))
        self.assertEqual(fin["status"], "failed", fin)
        self.assertIn(fin["reason"], reasons, fin)
        if fragment:
            self.assertIn(fragment, fin["message"].lower())
        return fin

    def test_network_socket_is_denied(self):
        self.assert_blocked("import socket\ndef run(i, p, c):\n    return {}\n", fragment="socket")
        self.assert_blocked("""
            import asyncio
            def run(inputs, params, ctx):
                s = asyncio.base_events.socket.socket()
                s.connect(("127.0.0.1", 3306))
                return {}
        """, fragment="network sockets")

    def test_os_system_is_denied(self):
        self.assert_blocked(f"import os\ndef run(i, p, c):\n    os.system('touch {MARKER}')\n    return {{}}\n",
                            fragment="'os'")
        # `random` keeps a reference to os; the audit hook still stops it.
        self.assert_blocked(f"""
            import random
            def run(inputs, params, ctx):
                random._os.system("touch {MARKER}")
                return {{}}
        """, fragment="processes")

    def test_subprocess_is_denied(self):
        self.assert_blocked("import subprocess\ndef run(i, p, c):\n    return {}\n", fragment="subprocess")
        self.assert_blocked(f"""
            import asyncio
            def run(inputs, params, ctx):
                asyncio.subprocess.subprocess.run(["touch", "{MARKER}"])
                return {{}}
        """, fragment="processes")

    def test_ctypes_is_denied(self):
        self.assert_blocked("import ctypes\ndef run(i, p, c):\n    return {}\n", fragment="ctypes")

    def test_import_tricks_are_denied(self):
        for trick in ("__import__('socket')",
                      "__builtins__.__import__('os')",
                      "getattr(__builtins__, '__import__')('subprocess')",
                      "__import__('importlib').import_module('socket')",
                      "__import__('builtins').__import__('os')"):
            with self.subTest(trick=trick):
                self.assert_blocked(f"def run(i, p, c):\n    {trick}\n    return {{}}\n", fragment="import")

    def test_caught_denial_still_fails_the_node(self):
        self.assert_blocked("""
            def run(inputs, params, ctx):
                try:
                    open("/etc/passwd").read()
                except Exception:
                    pass
                return {}
        """, fragment="read files")

    def test_reading_etc_passwd_is_denied(self):
        self.assert_blocked("def run(i, p, c):\n    return {'x': open('/etc/passwd').read()}\n",
                            fragment="read files", outputs=[{"name": "x", "type": "string"}])

    def test_writing_into_the_repo_is_denied(self):
        self.assert_blocked(f"def run(i, p, c):\n    open('{REPO_MARKER}', 'w').write('x')\n    return {{}}\n",
                            fragment="write files")
        self.assert_blocked(f"def run(i, p, c):\n    open('{MARKER}', 'a').write('x')\n    return {{}}\n",
                            fragment="write files")

    def test_fork_bomb_is_stopped(self):
        self.assert_blocked("""
            import random
            def run(inputs, params, ctx):
                while True:
                    random._os.fork()
        """, limits={"timeout_seconds": 2}, fragment="processes")
        self.assert_pool_healthy(GUARDED)

    def test_huge_allocation_fails_with_memory(self):
        self.assert_blocked("def run(i, p, c):\n    x = b'x' * (10 << 30)\n    return {}\n", reasons=("memory",),
                            limits={"memory_mib": 256})

    def test_infinite_loop_times_out(self):
        self.assert_blocked("def run(i, p, c):\n    while True:\n        pass\n", reasons=("timeout",),
                            limits={"timeout_seconds": 1})

    def test_printing_a_gibibyte_keeps_memory_and_protocol_intact(self):
        job = make_job(code("""
            def run(inputs, params, ctx):
                line = "x" * (1 << 20)
                for _ in range(1024):
                    print(line)
                return {}
        """), limits={"timeout_seconds": 40, "max_log_bytes": 1 << 20})
        fin = GUARDED.run(job, timeout=60)
        self.assertIn(fin["status"], ("succeeded", "failed"), fin)
        if fin["status"] == "failed":
            self.assertEqual(fin["reason"], "timeout", fin)
        logs = GUARDED.logs(job["job"])
        logged = sum(len(e["msg"]) for e in logs if e["stream"] == "stdout")
        self.assertLessEqual(logged, 1 << 20)
        self.assertEqual(len([e for e in logs if "dropped" in e["msg"]]), 1)
        self.assertEqual(GUARDED.bad_lines, [])
        self.assert_pool_healthy(GUARDED)

    def test_allowed_stdlib_modules_work_normally(self):
        fin = GUARDED.run(make_job(code("""
            import asyncio, base64, collections, csv, datetime, decimal, hashlib, io, json
            import random, re, statistics, string, textwrap, time, uuid
            def run(inputs, params, ctx):
                day = datetime.datetime.strptime("2024-02-29", "%Y-%m-%d").strftime("%A")
                time.strptime("2020", "%Y")
                buf = io.StringIO()
                csv.writer(buf).writerow([1, "a"])
                values = {
                    "day": day, "csv": buf.getvalue(), "uuid": len(str(uuid.uuid4())),
                    "dec": str(decimal.Decimal("1.1") * 3), "median": statistics.median([3, 1, 2]),
                    "idna": "bücher.example".encode("idna").decode(), "re": re.sub(r"\\d", "#", "a1b2"),
                    "sha": hashlib.sha256(b"x").hexdigest()[:8], "rand": random.Random(1).randint(1, 6),
                }
                return {"values": values}
        """), outputs=[{"name": "values", "type": "object"}]))
        self.assertEqual(fin["status"], "succeeded", fin)
        values = fin["outputs"]["values"]
        self.assertEqual(values["day"], "Thursday")
        self.assertEqual(values["dec"], "3.3")
        self.assertEqual(values["re"], "a#b#")
        self.assertEqual(values["idna"], "xn--bcher-kva.example")

    def test_job_module_lists_replace_the_defaults_and_block_wins(self):
        self.assert_blocked("import random\ndef run(i, p, c):\n    return {}\n", fragment="random",
                            modules={"allow": ["random", "json"], "block": ["random"]})
        self.assert_blocked("import math\ndef run(i, p, c):\n    return {}\n", fragment="math",
                            modules={"allow": ["json"]})
        fin = GUARDED.run(make_job("import json.decoder\ndef run(i, p, c):\n    return {}\n",
                                   modules={"allow": ["json"]}))
        self.assertEqual(fin["status"], "succeeded", fin)

    def assert_pool_healthy(self, pool: Pool):
        fin = pool.run(make_job("def run(i, p, c):\n    return {'ok': True}\n",
                                outputs=[{"name": "ok", "type": "boolean"}]))
        self.assertEqual(fin.get("outputs"), {"ok": True}, fin)


class OperatingSystemSandboxWithoutPythonGuards(unittest.TestCase):
    """The same attempts with the Python guards off: bwrap alone must hold."""

    def setUp(self):
        for path in (MARKER, REPO_MARKER):
            if os.path.exists(path):
                os.remove(path)

    def test_guards_are_really_off(self):
        fin = UNGUARDED.run(unguarded("import os, socket, signal\ndef run(i, p, c):\n    return {}\n"))
        self.assertEqual(fin["status"], "succeeded", fin)

    def test_no_network_even_to_a_listening_local_port(self):
        # The sandbox has its own network namespace: its 127.0.0.1 is a
        # private loopback, so even a port that listens on the host is closed.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        try:
            for target in (3306, port):
                fin = UNGUARDED.run(unguarded(f"""
                    import socket
                    def run(inputs, params, ctx):
                        socket.create_connection(("127.0.0.1", {target}), timeout=2)
                        return {{}}
                """))
                self.assertEqual((fin["status"], fin["reason"]), ("failed", "error"), fin)
                self.assertRegex(fin["message"].lower(), "refused|unreachable")
            with self.assertRaises(BlockingIOError):
                listener.accept()
            fin = UNGUARDED.run(unguarded("""
                import socket
                def run(inputs, params, ctx):
                    socket.getaddrinfo("example.com", 443)
                    return {}
            """))
            self.assertEqual((fin["status"], fin["reason"]), ("failed", "error"), fin)
        finally:
            listener.close()

    def test_etc_passwd_is_not_visible(self):
        fin = UNGUARDED.run(unguarded("def run(i, p, c):\n    return {'x': open('/etc/passwd').read()}\n",
                                      outputs=[{"name": "x", "type": "string"}]))
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "error"), fin)
        self.assertIn("FileNotFoundError", fin["message"])

    def test_repo_and_runner_are_not_writable(self):
        for path in (REPO_MARKER, MARKER, RUNNER):
            fin = UNGUARDED.run(unguarded(f"def run(i, p, c):\n    open('{path}', 'a').write('x')\n    return {{}}\n"))
            self.assertEqual((fin["status"], fin.get("reason")), ("failed", "error"), (path, fin))
        self.assertFalse(os.path.exists(REPO_MARKER))
        self.assertFalse(os.path.exists(MARKER))

    def test_no_shell_or_host_binaries(self):
        fin = UNGUARDED.run(unguarded(f"""
            import os
            def run(inputs, params, ctx):
                return {{"rc": os.system("touch {MARKER}"), "bin": os.path.exists("/bin/sh")}}
        """, outputs=[{"name": "rc", "type": "integer"}, {"name": "bin", "type": "boolean"}]))
        self.assertEqual(fin["status"], "succeeded", fin)
        self.assertNotEqual(fin["outputs"]["rc"], 0)
        self.assertFalse(fin["outputs"]["bin"])
        self.assertFalse(os.path.exists(MARKER))

    def test_runs_as_unprivileged_uid(self):
        fin = UNGUARDED.run(unguarded("import os\ndef run(i, p, c):\n    return {'uid': os.getuid()}\n",
                                      outputs=[{"name": "uid", "type": "integer"}]))
        self.assertEqual(fin.get("outputs"), {"uid": 65534}, fin)

    @unittest.skipUnless(pids_cgroup_writable(), "no writable pids cgroup to bound a real fork bomb")
    def test_fork_bomb_is_bounded_by_the_pids_cgroup(self):
        fin = UNGUARDED.run(unguarded("""
            import os
            def run(inputs, params, ctx):
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
        """, limits={"timeout_seconds": 2}), timeout=20)
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "timeout"), fin)
        fin = UNGUARDED.run(make_job("def run(i, p, c):\n    return {}\n"))
        self.assertEqual(fin["status"], "succeeded", fin)


# Node code that walks from its own builtins to the guards' state (the
# globals of the guarded __import__) and switches every Python-level check
# off. Only the OS sandbox and the standard-library view remain.
DISABLE_GUARDS = code("""
    def _switch_off_guards():
        imp = __builtins__["__import__"] if isinstance(__builtins__, dict) else __builtins__.__import__
        runner = imp.__globals__
        guards = runner["_active_guards"]
        real_import = runner["_real_import"]
        guards.is_module_allowed = lambda name: True
        guards._deny = lambda message: None
        guards._deny_import = lambda name: None
        real_import("builtins").__import__ = real_import
        sys = real_import("sys")
        sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "__name__", "") != "_NodeImportFinder"]
        return real_import
    _switch_off_guards()
""")


class GuardsSwitchedOffFromNodeCode(unittest.TestCase):
    """A restricted node disables its own Python guards; what still holds."""

    def run_unguarded(self, body: str, **fields) -> dict:
        fin = GUARDED.run(make_job(DISABLE_GUARDS + code(body), outputs=[{"name": "r", "type": "object"}], **fields),
                          timeout=30)
        return fin

    def test_the_guards_really_are_switched_off(self):
        fin = self.run_unguarded("""
            import os
            def run(inputs, params, ctx):
                return {"r": {"os": os.name}}
        """)
        self.assertEqual(fin.get("outputs"), {"r": {"os": "posix"}}, fin)

    def test_modules_outside_the_allow_list_are_not_in_the_sandbox(self):
        import sysconfig
        site = sysconfig.get_paths()["purelib"]
        fin = self.run_unguarded(f"""
            import sys
            def run(inputs, params, ctx):
                sys.path.append({site!r})
                out = {{}}
                for name in ("ctypes", "_ctypes", "urllib.request", "http.client", "multiprocessing", "sqlite3",
                             "pickle", "yaml", "IPython"):
                    try:
                        __import__(name)
                        out[name] = "imported"
                    except ImportError as e:
                        out[name] = type(e).__name__
                return {{"r": out}}
        """)
        self.assertEqual(fin["status"], "succeeded", fin)
        for name, result in fin["outputs"]["r"].items():
            self.assertEqual(result, "ModuleNotFoundError", (name, fin["outputs"]))

    def test_the_admins_allow_list_shapes_the_sandboxs_standard_library(self):
        # An admin allows `wave`, which is not a default: the pool started
        # with that list has it, and still nothing outside the list.
        from runner_harness import Pool
        pool = Pool("--sandbox", "bwrap", "--trust", "restricted", "--max-pids", "64",
                    "--modules-allow", "json,math,wave")
        self.addCleanup(pool.close)
        job = make_job(DISABLE_GUARDS + code("""
            def run(inputs, params, ctx):
                out = {}
                for name in ("wave", "sqlite3"):
                    try:
                        __import__(name)
                        out[name] = "imported"
                    except ImportError as e:
                        out[name] = type(e).__name__
                return {"r": out}
        """), outputs=[{"name": "r", "type": "object"}],
            modules={"allow": ["json", "math", "wave"], "block": []})
        fin = pool.run(job, timeout=30)
        self.assertEqual(fin["status"], "succeeded", fin)
        self.assertEqual(fin["outputs"]["r"]["wave"], "imported", fin)
        self.assertEqual(fin["outputs"]["r"]["sqlite3"], "ModuleNotFoundError", fin)

    def test_network_host_files_other_processes_and_binaries_stay_out_of_reach(self):
        fin = self.run_unguarded("""
            import os, socket, subprocess
            def attempt(fn):
                try:
                    return "ok " + str(fn())
                except OSError as e:
                    return type(e).__name__
            def cmdlines():
                out = []
                for pid in os.listdir("/proc"):
                    if pid.isdigit():
                        try:
                            out.append(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"))
                        except OSError:
                            pass
                return out
            def run(inputs, params, ctx):
                return {"r": {
                    "db": attempt(lambda: socket.create_connection(("127.0.0.1", 3306), timeout=2)),
                    "unix": attempt(lambda: socket.socket(socket.AF_UNIX).connect("/run/mysqld/mysqld.sock")),
                    "passwd": attempt(lambda: open("/etc/passwd").read()),
                    "shell": attempt(lambda: subprocess.run(["/bin/sh", "-c", "true"])),
                    "procs": cmdlines(),
                    "uid": os.getuid(),
                }}
        """)
        self.assertEqual(fin["status"], "succeeded", fin)
        r = fin["outputs"]["r"]
        self.assertEqual(r["db"], "ConnectionRefusedError", r)
        self.assertEqual(r["unix"], "FileNotFoundError", r)
        self.assertEqual(r["passwd"], "FileNotFoundError", r)
        self.assertEqual(r["shell"], "FileNotFoundError", r)
        self.assertEqual(r["uid"], 65534)
        # Only the sandbox's own processes: no host process (this test runner included).
        self.assertTrue(r["procs"], r)
        for cmdline in r["procs"]:
            self.assertNotIn("unittest", cmdline, r["procs"])
            if cmdline:     # exited children of earlier jobs have none
                self.assertIn("katalusis_runner", cmdline, r["procs"])

    @unittest.skipUnless(pids_cgroup_writable(), "no writable pids cgroup to bound a real fork bomb")
    def test_a_fork_bomb_is_bounded(self):
        fin = GUARDED.run(make_job(DISABLE_GUARDS + code("""
            import os
            def run(inputs, params, ctx):
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
        """), limits={"timeout_seconds": 2}), timeout=30)
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "timeout"), fin)
        fin = GUARDED.run(make_job("def run(i, p, c):\n    return {}\n"))
        self.assertEqual(fin["status"], "succeeded", fin)


class Launcher(unittest.TestCase):
    def test_missing_bwrap_refuses_to_run_unsandboxed(self):
        env = test_env(KATALUSIS_RUNNER_BWRAP="/nonexistent/bwrap")
        p = subprocess.run([PYTHON, RUNNER, "serve", "--sandbox", "bwrap"], input=b"", capture_output=True,
                           env=env, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(p.stdout, b"")
        err = json.loads(p.stderr.decode().strip().splitlines()[-1])
        self.assertEqual(err["type"], "fatal")
        self.assertIn("refusing to run unsandboxed", err["message"])

    def test_restricted_job_is_refused_by_a_trusted_pool(self):
        pool = Pool("--sandbox", "bwrap", "--trust", "trusted")
        try:
            fin = pool.run(make_job("def run(i, p, c):\n    return {}\n"))
            self.assertEqual((fin["status"], fin["reason"]), ("failed", "sandbox"), fin)
            started = time.monotonic()
            fin = pool.run(make_job("import socket\ndef run(i, p, c):\n    return {}\n", trust="trusted"))
            self.assertEqual(fin["status"], "succeeded", fin)
            self.assertLess(time.monotonic() - started, 5)
        finally:
            self.assertEqual(pool.close(), 0)


def _stat(pid: int) -> tuple[str, int]:
    """(command name, parent pid); ("", 0) once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return "", 0
    return raw.split("(", 1)[1].rsplit(")", 1)[0], int(raw.rsplit(")", 1)[1].split()[1])


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


class Zygote(unittest.TestCase):
    def test_a_job_outlives_its_killed_zygote_and_the_pool_goes_on(self):
        # The supervisor (the sandbox's Python whose parent is bwrap) has one
        # child, the zygote, which forks the job processes. Killed from
        # outside, its running job is inherited by the supervisor (the
        # subreaper) and still delivers; a new zygote serves the next job.
        pool = Pool("--sandbox", "bwrap", "--trust", "restricted")
        try:
            ports = [{"name": "n", "type": "integer"}]
            job = make_job("import time\ndef run(i, p, c):\n    time.sleep(1.5)\n    return {'n': 7}\n",
                           outputs=ports)
            pool.submit(job)
            pool.wait_for(job["job"], "started")
            supervisor = next(p for p in _descendants(pool.proc.pid)
                              if _stat(p)[0].startswith("python") and _stat(_stat(p)[1])[0] == "bwrap")
            zygotes = _children(supervisor)
            self.assertEqual(len(zygotes), 1, zygotes)
            os.kill(zygotes[0], signal.SIGKILL)
            fin = pool.finished(job["job"])
            self.assertEqual(fin.get("outputs"), {"n": 7}, fin)
            after = pool.run(make_job("def run(i, p, c):\n    return {'n': 8}\n", outputs=ports))
            self.assertEqual(after.get("outputs"), {"n": 8}, after)
            # The job's process, inherited, is gone once reaped: one child again.
            deadline = time.monotonic() + 5
            while len(_children(supervisor)) != 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            now = _children(supervisor)
            self.assertEqual(len(now), 1, now)
            self.assertNotEqual(now, zygotes)
        finally:
            self.assertEqual(pool.close(), 0)


if __name__ == "__main__":
    unittest.main()
