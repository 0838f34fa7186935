"""Jobs of one warm pool cannot reach each other (Landlock, per job).

The local executor lets the runs of one client share a pool only when the
runner reports `"isolation": "landlock"`. These tests run two jobs at once in
one real bubblewrap pool of each trust level, with the Python guards off: the
second job tries to read, list, signal and trace the first, and fails at the
kernel.
"""

import ast
import ctypes
import os
import subprocess
import sys
import textwrap
import unittest

from runner_harness import PYTHON, Pool, make_job

BWRAP = "/usr/bin/bwrap"


def landlock_abi() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return max(0, libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


def code(src: str) -> str:
    return textwrap.dedent(src).lstrip("\n")


# Writes a secret into its own directory, says where, and waits to be cancelled.
HOLDER = code("""
    import os, time
    def run(inputs, params, ctx):
        with open("secret.txt", "w") as f:
            f.write("holder-secret")
        ctx.log("dir=" + os.getcwd())
        time.sleep(60)
        return {}
""")

# Tries every way to the holder's files and process; reports what happened.
PROBE = code("""
    import os, signal, tempfile
    def attempt(f):
        try:
            return "ok: " + repr(f())[:80]
        except Exception as e:
            return type(e).__name__
    def run(inputs, params, ctx):
        d, pid = params["dir"], int(params["pid"])
        r = {
            "read_secret": attempt(lambda: open(os.path.join(d, "secret.txt")).read()),
            "list_dir": attempt(lambda: os.listdir(d)),
            "write_into": attempt(lambda: open(os.path.join(d, "planted"), "w")),
            "list_tmp": attempt(lambda: os.listdir("/tmp")),
            "signal": attempt(lambda: os.kill(pid, signal.SIGKILL)),
            "proc_root": attempt(lambda: open(f"/proc/{pid}/root{d}/secret.txt").read()),
            "proc_cwd": attempt(lambda: os.listdir(f"/proc/{pid}/cwd")),
            "proc_environ": attempt(lambda: open(f"/proc/{pid}/environ", "rb").read()),
            "proc_mem": attempt(lambda: open(f"/proc/{pid}/mem", "rb")),
            "own_file": attempt(lambda: open("mine.txt", "w").write("x")),
            "tempfile": attempt(lambda: tempfile.mkstemp()[1].startswith(os.getcwd())),
        }
        return {"r": r}
""")


class JobsOfOnePoolAreIsolated:
    trust = "restricted"

    @classmethod
    def setUpClass(cls):
        if not os.access(BWRAP, os.X_OK):
            raise unittest.SkipTest("bubblewrap is not installed")
        if landlock_abi() < 1:
            raise unittest.SkipTest("the kernel has no Landlock: pools are not shared between runs")
        cls.pool = Pool("--sandbox", "bwrap", "--trust", cls.trust, "--max-pids", "64")

    @classmethod
    def tearDownClass(cls):
        cls.pool.close()

    def test_the_pool_reports_landlock(self):
        ready = self.pool.wait_for(None, "ready")
        self.assertEqual(ready.get("isolation"), "landlock", ready)

    def test_the_pool_runs_the_runner_compiled_ahead(self):
        # Compiled outside, imported inside: compiling it in the pool left
        # the compiler's garbage in the heap every job process inherits.
        fin = self.pool.run(make_job(textwrap.dedent("""
            import sys
            def run(inputs, params, ctx):
                m = sys.modules.get("katalusis_runner")
                return {"r": {"imported": m is not None and m.__name__ != "__main__",
                              "cached": m is not None and m.__cached__}}
        """), trust=self.trust, _disable_python_guards=True, outputs=[{"name": "r", "type": "object"}]))
        self.assertEqual(fin["status"], "succeeded", fin)
        self.assertEqual(fin["outputs"]["r"], {"imported": True,
                                               "cached": "/tmp/.katalusis/__pycache__/katalusis_runner.cpython-"
                                               f"{sys.version_info[0]}{sys.version_info[1]}.pyc"}, fin)

    def test_job_processes_start_without_the_modules_the_runner_loads_only_when_needed(self):
        # Every module the zygote holds makes each fork and exit dearer, and
        # threading and random run code in every child after fork(); the
        # rest are loaded by the jobs that need them, then learned. The pool
        # runs without site, whose .pth files may load any of them.
        names = ("shutil", "subprocess", "tempfile", "threading", "random", "hashlib", "traceback", "_strptime",
                 "encodings.idna")
        # A pool of its own: the shared one has learned random from other tests' jobs.
        pool = Pool("--sandbox", "bwrap", "--trust", self.trust, "--max-pids", "64")
        try:
            fin = pool.run(make_job(code(f"""
                import sys
                def run(inputs, params, ctx):
                    return {{"loaded": sorted(m for m in {names!r} if m in sys.modules),
                             "path": sys.path, "no_site": sys.flags.no_site}}
            """), trust=self.trust, _disable_python_guards=True, outputs=[{"name": "loaded", "type": "array"},
                                                                             {"name": "path", "type": "array"},
                                                                             {"name": "no_site", "type": "integer"}]))
        finally:
            pool.close()
        self.assertEqual(fin["status"], "succeeded", fin)
        self.assertEqual((fin["outputs"]["loaded"], fin["outputs"]["no_site"]), ([], 1), fin)
        if self.trust == "trusted":
            # Packages installed on the host still import: site's directories are on the path.
            site = subprocess.run([PYTHON, "-I", "-c", "import os, site; print([p for p in site.getsitepackages() "
                                   "if os.path.isdir(p)])"], capture_output=True, text=True, check=True).stdout
            for path in ast.literal_eval(site):
                self.assertIn(path, fin["outputs"]["path"])

    def test_node_code_finds_the_builtins_site_would_add(self):
        # The pool runs without site (-S) but still gives node code exit() and quit().
        fin = self.pool.run(make_job(code("""
            def run(inputs, params, ctx):
                assert callable(quit) and callable(help) and "Python" in str(copyright)
                exit(3)
        """), trust=self.trust, _disable_python_guards=True))
        self.assertEqual((fin["status"], fin["message"]), ("failed", "The node called sys.exit(3)."), fin)

    def test_a_job_cannot_reach_another_running_job(self):
        holder = make_job(HOLDER, trust=self.trust, _disable_python_guards=True, limits={"timeout_seconds": 60})
        hid = self.pool.submit(holder)
        pid = self.pool.wait_for(hid, "started")["pid"]
        # Wait for the holder's directory line.
        for _ in range(200):
            lines = [e["msg"] for e in self.pool.logs(hid) if e["msg"].startswith("dir=")]
            if lines:
                break
            import time
            time.sleep(0.05)
        self.assertTrue(lines, self.pool.events_of(hid))
        holder_dir = lines[0][4:]
        probe = make_job(PROBE, trust=self.trust, _disable_python_guards=True,
                         params={"dir": holder_dir, "pid": pid}, outputs=[{"name": "r", "type": "object"}])
        fin = self.pool.run(probe)
        self.assertEqual(fin["status"], "succeeded", fin)
        r = fin["outputs"]["r"]
        for key in ("read_secret", "list_dir", "write_into", "list_tmp", "proc_root", "proc_cwd", "proc_environ",
                    "proc_mem"):
            self.assertIn(r[key], ("PermissionError", "FileNotFoundError"), (key, r))
        if landlock_abi() >= 6:
            self.assertEqual(r["signal"], "PermissionError", r)
        # Its own directory works as before.
        self.assertTrue(r["own_file"].startswith("ok"), r)
        self.assertEqual(r["tempfile"], "ok: True", r)
        # The holder is still running, untouched, and ends when cancelled.
        self.assertFalse([e for e in self.pool.events_of(hid) if e["type"] == "finished"])
        self.pool.send({"v": 1, "type": "cancel", "job": hid})
        self.assertEqual(self.pool.finished(hid)["reason"], "cancelled")

    def test_a_job_cannot_reach_the_supervisors_ctypes(self):
        fin = self.pool.run(make_job(code("""
            def run(inputs, params, ctx):
                try:
                    import ctypes
                    return {"r": {"ctypes": "imported"}}
                except ImportError as e:
                    return {"r": {"ctypes": type(e).__name__}}
        """), trust=self.trust, _disable_python_guards=True, outputs=[{"name": "r", "type": "object"}]))
        self.assertEqual(fin["status"], "succeeded", fin)
        if self.trust == "restricted":
            # Not in the restricted standard library, and the supervisor's copy is out of reach.
            self.assertEqual(fin["outputs"]["r"]["ctypes"], "ModuleNotFoundError", fin)


class RestrictedPool(JobsOfOnePoolAreIsolated, unittest.TestCase):
    trust = "restricted"


class TrustedPool(JobsOfOnePoolAreIsolated, unittest.TestCase):
    trust = "trusted"


if __name__ == "__main__":
    unittest.main()
