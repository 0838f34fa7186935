#!/usr/bin/env python3
"""Katalusis node runner: executes the code of one workflow node per job.

Stdlib only, Python 3.11+. This file is the entrypoint of the node container
image and the process the local executor talks to. It is also the ONE place
the bubblewrap sandbox is constructed, so callers never need bwrap flags.

Usage
-----
    katalusis_runner.py exec  [--sandbox none|bwrap] [--trust restricted|trusted]
    katalusis_runner.py serve [--sandbox none|bwrap] [--trust restricted|trusted]
                              [--max-pids N]

``exec`` reads ONE job line from stdin, runs it and exits 0 (succeeded) or
1 (failed). ``serve`` is the warm pool: it pre-imports the runner and the
common allowed modules, then reads job/cancel lines until stdin closes and
runs each job in its own process, forked by a zygote process (one spare is
kept forked ahead; see _zygote_main).

Wire format, version 1 (JSON lines; see PROTOCOL.md for the full text)
----------------------------------------------------------------------
stdin, one object per line:

    {"v":1,"type":"job","job":"<id>","run_id":"..","node_id":"..","attempt":1,
     "code":"<python source>","mode":"sync"|"async",
     "trust":"restricted"|"trusted","inputs":{..},"params":{..},
     "secret_params":["<param name>",..],
     "outputs":[{"name":"..","type":"string|number|integer|boolean|array|
                 object|json|file|binary","required":true}],
     "limits":{"timeout_seconds":300,"memory_mib":512,"cpu_seconds":300,
               "max_output_bytes":16777216,"max_log_bytes":1048576,
               "max_file_bytes":67108864},
     "modules":{"allow":["json",..],"block":[..]}}
    {"v":1,"type":"cancel","job":"<id>"}
    {"v":1,"type":"query_result","job":"<id>","id":1,"ok":true,"rows":[..],
     "columns":[..],"row_count":3}   (or "ok":false,"code":"..","message":"..")

Values: binary is {"$bytes":"<base64>"}; an input file is
{"$file":{"name":"a.csv","b64":".."}} (written into the job's temp dir, the
node receives the local path); an output file is
{"$file":{"name","b64","size","sha256"}}.

stdout, one object per line, each with "v":1 and "job":

    {"v":1,"type":"started","job":id,"pid":123}
    {"v":1,"type":"log","job":id,"level":"debug|info|warning|error",
     "stream":"ctx|stdout|stderr","msg":"..","ts":1700000000.5}
    {"v":1,"type":"progress","job":id,"fraction":0.5,"message":".."}
    {"v":1,"type":"query","job":id,"id":1,"connection":"crm",
     "sql":"SELECT .. WHERE id = :id","params":{"id":7},"max_rows":100}
    {"v":1,"type":"finished","job":id,"status":"succeeded","outputs":{..},
     "duration_ms":12}
    {"v":1,"type":"finished","job":id,"status":"failed",
     "reason":"error|timeout|memory|cpu|output_size|output_type|cancelled|
               sandbox","message":"<one sentence>","traceback":"..."|null,
     "duration_ms":12}

Exactly one ``finished`` event is emitted per job and it is the last event
for that job. ``serve`` also emits {"v":1,"type":"ready","job":null,...} once
it accepts jobs, and {"v":1,"type":"error","job":<id or null>,...} for lines
it cannot understand.
"""

from __future__ import annotations

import base64
import builtins
import collections
import fcntl
import io
import itertools
import _thread
import json
import marshal
import os
import resource
import select
import selectors
import signal
import socket
import struct
import sys
import time

PROTOCOL_VERSION = 1

# Modules a restricted node may import when the job does not say otherwise.
# Deliberately excluded: os, sys, subprocess, socket, ssl, ctypes, importlib,
# shutil, pathlib, glob, tempfile, io.open-style file helpers beyond `io`,
# pickle/marshal (code execution on load), multiprocessing, threading,
# signal, resource, urllib/http (network), builtins (import tricks).
DEFAULT_ALLOWED_MODULES = (
    "json", "math", "cmath", "re", "datetime", "statistics", "decimal",
    "fractions", "numbers", "itertools", "collections", "functools",
    "operator", "csv", "string", "textwrap", "random", "time", "uuid",
    "hashlib", "hmac", "base64", "binascii", "typing", "dataclasses", "enum",
    "copy", "heapq", "bisect", "io", "asyncio", "array", "struct", "zlib",
    "gzip", "difflib", "unicodedata", "html", "pprint", "contextlib",
    "abc", "calendar", "secrets", "ast", "zoneinfo",
)

# Imported lazily from C code on behalf of allowed modules (for example
# datetime.strptime imports _strptime). C code has no frame, so such imports
# look as if the node made them; these harmless helpers are always allowed.
IMPLICIT_MODULES = ("_strptime", "encodings")

# What the runner imports only where it needs them, never at the top: the
# launcher outside the sandbox, and the supervisor after it has started its
# zygote. Every module the zygote holds is in the memory each job process
# inherits, copies in part and tears down; threading and random also run
# code in every child after fork() (os.register_at_fork). Loaded at the
# top, they cost a restricted job about 120 of its 780 page faults, each
# ~4.5 us of kernel time on the benchmark host (runner/bench_latency.py
# counts them). A restricted sandbox's standard library still has them
# (see build_stdlib_view).
POOL_LAZY_MODULES = ("hashlib", "shutil", "subprocess", "tempfile", "threading", "traceback")

# What a pool loads into its zygote once one of its jobs has used it, so the
# job processes forked after that start with it loaded: the modules nodes
# may import by default and the helpers the runner loads for some jobs. A
# pool starts without them: every module the zygote holds makes each fork
# and exit of a job process dearer (page tables to copy and tear down), for
# nodes that never use it.
PRELOADABLE = frozenset(DEFAULT_ALLOWED_MODULES) | {"inspect", "traceback", *IMPLICIT_MODULES, "encodings.idna"}

DEFAULT_LIMITS = {
    "timeout_seconds": 300,
    "memory_mib": 512,
    "cpu_seconds": 300,
    "max_output_bytes": 16 * 1024 * 1024,
    "max_log_bytes": 1024 * 1024,
    "max_file_bytes": 64 * 1024 * 1024,
    "max_processes": 256,
}

OUTPUT_TYPES = ("string", "number", "integer", "boolean", "array", "object",
                "json", "file", "binary")
LOG_LEVELS = ("debug", "info", "warning", "error")
NODE_FILENAME = "<node>"
NODE_MODULE_NAME = "__katalusis_node__"
MAX_LINE_BYTES = 64 * 1024        # longer stdout/stderr lines are split
READ_CHUNK = 256 * 1024
QUERY_REPLY_FD = 5                # in a job's process: answers to ctx.query
BWRAP = os.environ.get("KATALUSIS_RUNNER_BWRAP", "/usr/bin/bwrap")
SANDBOX_UID = 65534
TESTING_ENV = "KATALUSIS_RUNNER_TESTING"


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------

# Built once in the pool: json.dumps with arguments builds a new encoder at
# every call, in a job process a few dozen pages written (see ChildPrelude).
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _dumps(obj) -> bytes:
    return (_ENCODE(obj) + "\n").encode()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class NodeFailure(Exception):
    """A failure with a protocol reason, raised inside the job child."""

    def __init__(self, reason: str, message: str, tb: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.tb = tb


class QueryError(RuntimeError):
    """A ctx.query the platform refused or the database failed; `code` says why."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class SandboxViolation(PermissionError):
    """Raised by the audit hook when a restricted node attempts a denied action."""


class SandboxImportError(ImportError):
    """Raised when a restricted node imports a module outside its allow-list."""


# --------------------------------------------------------------------------
# Child side: everything below runs in the forked job process
# --------------------------------------------------------------------------

class _EventPipe:
    def __init__(self, fd: int):
        self.fd = fd

    def send(self, obj) -> None:
        data = _dumps(obj)
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]


class Context:
    """The `ctx` object handed to a node's run()."""

    def __init__(self, pipe: _EventPipe, job: dict, tmp_dir: str, max_file_bytes: int):
        self._pipe = pipe
        self._files: dict[str, dict] = {}
        self._max_file_bytes = max_file_bytes
        self.tmp_dir = tmp_dir
        self.run_id = job.get("run_id")
        self.node_id = job.get("node_id")
        self.attempt = job.get("attempt", 1)
        self._query_seq = 0
        self._query_lock = _thread.allocate_lock()   # one question at a time on the reply pipe

    def log(self, msg, level: str = "info") -> None:
        if level not in LOG_LEVELS:
            level = "info"
        text = str(msg)
        if len(text) > MAX_LINE_BYTES:
            text = text[:MAX_LINE_BYTES] + f" [... {len(text) - MAX_LINE_BYTES} characters cut]"
        self._pipe.send({"t": "log", "level": level, "msg": text, "ts": time.time()})

    def progress(self, fraction, message: str = "") -> None:
        try:
            f = float(fraction)
        except (TypeError, ValueError):
            raise ValueError("progress fraction must be a number between 0 and 1") from None
        f = 0.0 if f != f else min(1.0, max(0.0, f))
        self._pipe.send({"t": "progress", "fraction": f, "message": str(message)})

    def query(self, connection, sql, params=None, max_rows=None) -> list:
        """Run SQL on a database connection allowed for the run's client.

        The platform runs it (credentials never enter the sandbox); `:name`
        placeholders are bound from `params`. Returns the rows as dicts;
        raises QueryError with the platform's reason.
        """
        if params is not None and not isinstance(params, dict):
            raise TypeError("ctx.query params must be a dict of named values")
        with self._query_lock:
            self._query_seq += 1
            req = {"t": "query", "id": self._query_seq, "connection": str(connection), "sql": str(sql),
                   "params": params or {}}
            if max_rows is not None:
                req["max_rows"] = int(max_rows)
            self._pipe.send(req)
            return self._query_answer()

    def _query_answer(self) -> list:
        buf = bytearray()
        while not buf.endswith(b"\n"):
            chunk = os.read(QUERY_REPLY_FD, 1 << 20)
            if not chunk:
                raise QueryError("the platform closed the query channel", "closed")
            buf += chunk
        reply = json.loads(buf)
        if not reply.get("ok"):
            raise QueryError(reply.get("message") or "the query failed", reply.get("code") or "error")
        return reply.get("rows") or []

    def write_file(self, name, data) -> dict:
        """Store an output file and return the file ref to put into outputs."""
        safe = os.path.basename(str(name)) or "file"
        out_dir = os.path.join(self.tmp_dir, "out")
        os.makedirs(out_dir, exist_ok=True)
        dest = os.path.join(out_dir, safe)
        if isinstance(data, (bytes, bytearray, memoryview)):
            if len(data) > self._max_file_bytes:
                raise ValueError(f"file {safe!r} is {len(data)} bytes, over the limit of {self._max_file_bytes} bytes")
            with open(dest, "wb") as f:
                f.write(data)
        elif isinstance(data, (str, os.PathLike)):
            src = os.fspath(data)
            if os.path.getsize(src) > self._max_file_bytes:
                raise ValueError(f"file {safe!r} is over the limit of {self._max_file_bytes} bytes")
            if os.path.realpath(src) != os.path.realpath(dest):
                with open(src, "rb") as fin, open(dest, "wb") as fout:
                    for chunk in iter(lambda: fin.read(1 << 20), b""):
                        fout.write(chunk)
        else:
            raise TypeError("write_file expects bytes or a path")
        import hashlib
        h = hashlib.sha256()
        size = 0
        with open(dest, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                size += len(chunk)
        ref = {"$file": {"name": safe, "path": dest, "size": size, "sha256": h.hexdigest()}}
        self._files[dest] = ref
        return ref


def _decode_value(value, tmp_dir: str):
    """Turn wire values into node values: $bytes -> bytes, $file -> local path."""
    if isinstance(value, dict):
        if len(value) == 1 and "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        if len(value) == 1 and "$file" in value and isinstance(value["$file"], dict):
            spec = value["$file"]
            name = os.path.basename(str(spec.get("name") or "file")) or "file"
            in_dir = os.path.join(tmp_dir, "in")
            os.makedirs(in_dir, exist_ok=True)
            path = os.path.join(in_dir, name)
            n = 1
            while os.path.exists(path):
                path = os.path.join(in_dir, f"{n}-{name}")
                n += 1
            with open(path, "wb") as f:
                f.write(base64.b64decode(spec.get("b64") or ""))
            return path
        return {k: _decode_value(v, tmp_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_value(v, tmp_dir) for v in value]
    return value


def _type_name(value) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "array", dict: "object", type(None): "null",
            bytes: "bytes"}.get(type(value), type(value).__name__)


def _check_and_encode_outputs(result, ports: list, ctx: Context, max_output_bytes: int) -> dict:
    if not isinstance(result, dict):
        raise NodeFailure("output_type", f"run() must return a dict of outputs, but it returned {_type_name(result)}.")
    declared = {p["name"]: p for p in ports}
    unknown = sorted(k for k in result if k not in declared)
    if unknown:
        raise NodeFailure("output_type", f"The node returned undeclared output port(s) {', '.join(map(repr, unknown))}.")
    encoded = {}
    size = 2   # the outputs as one compact JSON object, {...}
    for name, port in declared.items():
        if name not in result:
            if port.get("required", True):
                raise NodeFailure("output_type", f"Required output port {name!r} is missing from the result.")
            continue
        value = result[name]
        kind = port.get("type", "json")
        ok = True
        if kind == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind == "string":
            ok = isinstance(value, str)
        elif kind == "boolean":
            ok = isinstance(value, bool)
        elif kind == "array":
            ok = isinstance(value, list)
        elif kind == "object":
            ok = isinstance(value, dict)
        elif kind == "binary":
            ok = isinstance(value, (bytes, bytearray, memoryview))
            if ok:
                value = {"$bytes": base64.b64encode(bytes(value)).decode()}
        elif kind == "file":
            path = value.get("$file", {}).get("path") if isinstance(value, dict) and isinstance(value.get("$file"), dict) else None
            ok = path is not None and path in ctx._files
            if ok:
                ref = ctx._files[path]["$file"]
                with open(path, "rb") as f:
                    data = f.read()
                value = {"$file": {"name": ref["name"], "b64": base64.b64encode(data).decode(),
                                   "size": ref["size"], "sha256": ref["sha256"]}}
        if not ok:
            expected = "a file ref returned by ctx.write_file" if kind == "file" else kind
            raise NodeFailure("output_type", f"Output port {name!r} expects {expected} but the node returned {_type_name(value)}.")
        try:
            text = _ENCODE(value)
        except (TypeError, ValueError) as e:
            raise NodeFailure("output_type", f"Output port {name!r} ({kind}) is not JSON-serialisable: {e}.") from None
        encoded[name] = value
        size += len(_ENCODE(name)) + 1 + len(text) + (1 if len(encoded) > 1 else 0)   # "name":value, ASCII
    if size > max_output_bytes:
        raise NodeFailure("output_size", f"The outputs are {size} bytes when serialised, which exceeds the limit of {max_output_bytes} bytes.")
    return encoded


# Computed once, in the warm pool, so each forked job pays nothing for them.
_RUNNER_FILE = os.path.realpath(__file__)
_PYTHON_ROOTS = tuple({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix)})
# The time zone database (public, read-only data) so `zoneinfo` works in
# restricted nodes; bound read-only into the restricted sandbox as well.
TZ_DIRS = tuple(d for d in ("/usr/share/zoneinfo",) if os.path.isdir(d))
_TZ_ROOTS = tuple(os.path.realpath(d) for d in TZ_DIRS)


def _is_under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def _python_only_path() -> list[str]:
    """sys.path without the runner's own directory (or anything else outside Python)."""
    return [p for p in sys.path if p and _is_under(os.path.realpath(p), _PYTHON_ROOTS)]


_node_path: list[str] | None = None


def _node_sys_path() -> list[str]:
    """_python_only_path(), worked out once by the zygote (see _zygote_main)."""
    global _node_path
    if _node_path is None:
        _node_path = _python_only_path()
    return _node_path


# The guards of this job process (see _Guards.install); None until a
# restricted job installs them, and in the supervisor and zygote.
_active_guards: "_Guards | None" = None
_real_import = builtins.__import__
_real_import_module = None   # importlib.import_module, kept by _Guards.install


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    # Only imports made by the node's own code are checked; the allowed
    # stdlib modules import their internals freely.
    guards = _active_guards
    if guards is not None and (globals is guards.node_globals
                               or sys._getframe(1).f_globals is guards.node_globals):
        if level:
            guards._deny_import(name or ".")
        if not guards.is_module_allowed(name):
            guards._deny_import(name)
        for sub in fromlist or ():
            full = f"{name}.{sub}"
            if full in sys.modules and not guards.is_module_allowed(full) and sub != "*":
                guards._deny_import(full)
    return _real_import(name, globals, locals, fromlist, level)


def _guarded_import_module(name, package=None):
    guards = _active_guards
    if guards is not None and sys._getframe(1).f_globals is guards.node_globals:
        if name.startswith(".") or not guards.is_module_allowed(name):
            guards._deny_import(name)
    return _real_import_module(name, package)


class _NodeImportFinder:
    """Catches imports reaching the import system from node code by other
    routes (importlib.import_module, __import__ via getattr)."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        guards = _active_guards
        if guards is None:
            return None
        frame = sys._getframe(1)
        while frame is not None:
            fn = frame.f_code.co_filename
            if not (fn.startswith("<frozen importlib") or "importlib" in fn or frame.f_globals is builtins.__dict__
                    or frame.f_code is _guarded_import.__code__):
                break
            frame = frame.f_back
        if frame is not None and frame.f_globals is guards.node_globals and not guards.is_module_allowed(fullname):
            guards._deny_import(fullname)
        return None


class _Guards:
    """Python-level restrictions for restricted nodes (defence in depth only).

    They run inside the node's own interpreter, so a determined node can
    find ways around them; the OS sandbox (bwrap) is the real boundary.
    """

    def __init__(self, allow, block, tmp_dir: str, node_globals: dict):
        self.allow = set(allow)
        self.block = set(block)
        self.node_globals = node_globals
        self.violation: str | None = None
        self.tmp_dir = os.path.realpath(tmp_dir)
        self.read_roots = _PYTHON_ROOTS + _TZ_ROOTS + (self.tmp_dir,)
        self.read_files = {_RUNNER_FILE, "/dev/null", "/dev/urandom", "/dev/random"}

    # -- imports ---------------------------------------------------------
    def is_module_allowed(self, name: str) -> bool:
        parts = name.split(".")
        prefixes = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        if prefixes & self.block:
            return False
        return bool(prefixes & self.allow) or parts[0] in IMPLICIT_MODULES

    def _deny_import(self, name: str):
        # Not sticky: a node may catch it and fall back (try: import x except ImportError).
        raise SandboxImportError(f"restricted node may not import module {name!r}", name=name)

    def install(self) -> None:
        """Makes these the job process's guards. The hooks they install are
        defined once, in the pool, and read the guards from _active_guards:
        defining them in each job process wrote ~50 pages of the heap it
        shares with the zygote (see ChildPrelude)."""
        global _active_guards, _real_import_module
        _active_guards = self
        builtins.__import__ = _guarded_import
        import importlib
        _real_import_module = importlib.import_module
        importlib.import_module = _guarded_import_module
        # Keep the import system away from the runner's own directory.
        sys.path[:] = _node_sys_path()
        sys.meta_path.insert(0, _NodeImportFinder)
        sys.addaudithook(self._audit)

    # -- audit -----------------------------------------------------------
    def _deny(self, message: str):
        if self.violation is None:
            self.violation = message
        raise SandboxViolation(message)

    def _path_ok(self, path, write: bool) -> bool:
        if isinstance(path, int):
            return True
        try:
            p = os.path.realpath(os.fsdecode(path))
        except Exception:
            return False
        if p == self.tmp_dir or p.startswith(self.tmp_dir + os.sep):
            return True
        if write:
            return p == "/dev/null"
        if p in self.read_files:
            return True
        return any(p == r or p.startswith(r + os.sep) for r in self.read_roots)

    _WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    _PROC_EVENTS = ("subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.fork",
                    "os.forkpty", "pty.spawn", "os.startfile")
    _WRITE_PATH_EVENTS = ("os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chmod", "os.chown",
                          "os.truncate", "os.utime", "shutil.rmtree", "os.link", "os.symlink",
                          "os.mkfifo", "os.mknod", "shutil.chown")

    def _audit(self, event: str, args) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            write = False
            if isinstance(mode, str):
                write = any(c in mode for c in "wax+")
            if isinstance(flags, int) and flags & self._WRITE_FLAGS:
                write = True
            if not self._path_ok(path, write):
                what = "write" if write else "read"
                self._deny(f"restricted node may not {what} files outside its temp dir ({os.fsdecode(path) if isinstance(path, (str, bytes)) else path})")
            return
        if event.startswith("socket."):
            self._deny("restricted node may not open network sockets")
        if event.startswith("os.exec") or event in self._PROC_EVENTS:
            self._deny("restricted node may not start processes")
        if event.startswith("ctypes.") or event.startswith("cffi."):
            self._deny("restricted node may not use ctypes")
        if event in ("os.kill", "os.killpg", "resource.setrlimit", "resource.prlimit", "sys.remote_exec",
                     "os.setuid", "os.chroot"):
            self._deny(f"restricted node may not call {event}")
        if event in self._WRITE_PATH_EVENTS:
            for a in args[:2]:
                if isinstance(a, (str, bytes, os.PathLike)) and not self._path_ok(a, True):
                    self._deny(f"restricted node may not modify files outside its temp dir ({os.fsdecode(a)})")
        if event in ("os.listdir", "os.scandir", "glob.glob"):
            if args and isinstance(args[0], (str, bytes)) and not self._path_ok(args[0], False):
                self._deny(f"restricted node may not list directories outside its temp dir ({os.fsdecode(args[0])})")


# --------------------------------------------------------------------------
# Per-job filesystem isolation (Landlock)
# --------------------------------------------------------------------------
# A warm pool serves many jobs (and, on the local executor, several runs of
# one client). Every job process confines itself with a Landlock domain
# before it takes its job: read and execute everywhere but /tmp, everything
# in its own job directory, nothing in any other job's directory, and (ABI 6)
# no signals or abstract Unix sockets outside its own domain. Landlock also
# refuses ptrace, so /proc/<pid>/root|cwd|mem of another job is closed. The
# domain cannot be lifted by the process or its children.

# Where the sandboxed supervisor finds ctypes: outside the restricted
# standard library view (so node code cannot import it) and under /tmp (so
# no job can read it once confined).
SUPERVISOR_LIB = "/tmp/.katalusis-lib"
_LANDLOCK_CREATE, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT = 444, 445, 446   # same on x86_64 and aarch64
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_ALL_V1 = (1 << 13) - 1              # EXECUTE .. MAKE_SYM
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_landlock = None   # (ctypes module, libc, ABI version) once probed


def _landlock_probe():
    """Landlock's ABI version here, or 0 when the kernel or ctypes lacks it."""
    global _landlock
    if _landlock is None:
        abi = 0
        try:
            if os.path.isdir(SUPERVISOR_LIB):
                sys.path.insert(0, SUPERVISOR_LIB)
            try:
                import ctypes
            finally:
                if SUPERVISOR_LIB in sys.path:
                    sys.path.remove(SUPERVISOR_LIB)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            abi = max(0, int(libc.syscall(_LANDLOCK_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))))
            _landlock = (ctypes, libc, abi)
        except (ImportError, OSError, AttributeError):
            _landlock = (None, None, 0)
    return _landlock[2]


_ll_types = None   # (RulesetAttr, PathBeneath) ctypes structures, built once


def _landlock_types():
    global _ll_types
    if _ll_types is None:
        ctypes = _landlock[0]

        class RulesetAttr(ctypes.Structure):
            _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                        ("scoped", ctypes.c_uint64)]

        class PathBeneath(ctypes.Structure):
            _pack_ = 1
            _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

        _ll_types = (RulesetAttr, PathBeneath)
    return _ll_types


def landlock_static_rules() -> list[tuple[int, int]]:
    """The rules every job shares, as (O_PATH fd, access): read and execute
    under each top-level directory but /tmp, and the devices. Opened once by
    the supervisor, so a job process only adds its own directory."""
    read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    abi = _landlock_probe()
    paths = [(os.path.join("/", e), read) for e in sorted(os.listdir("/")) if e != "tmp"]
    # Devices: read and write existing ones (/dev/null, /dev/urandom), create nothing.
    paths.append(("/dev", read | _FS_WRITE_FILE | (_FS_IOCTL_DEV if abi >= 5 else 0)))
    rules = []
    for path, access in paths:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue   # a dangling top-level symlink
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            access &= _FILE_RIGHTS
        rules.append((fd, access))
    return rules


class LandlockPlan:
    """Everything confining a job needs that does not depend on the job,
    built once by the supervisor: the ruleset attributes, the shared rules
    as ready ctypes structures, the argument values and the names of the
    ctypes modules to forget afterwards. A forked job process then only
    makes system calls: touching less of the supervisor's heap, it copies
    fewer of its pages (each page written after fork() is copied)."""

    def __init__(self, static: list[tuple[int, int]]):
        abi = _landlock_probe()
        if abi < 1:
            raise OSError("Landlock is not available")
        ctypes = _landlock[0]
        RulesetAttr, PathBeneath = _landlock_types()
        self.handled = _FS_ALL_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0) \
            | (_FS_IOCTL_DEV if abi >= 5 else 0)
        scoped = (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0
        self.attr = ctypes.byref(RulesetAttr(self.handled, 0, scoped))
        self.size = ctypes.c_size_t(24 if abi >= 6 else (16 if abi >= 4 else 8))
        self.fds = [fd for fd, _ in static]
        self.rules = [PathBeneath(access & self.handled, fd) for fd, access in static]
        self.refs = [ctypes.byref(r) for r in self.rules]
        self.own = PathBeneath(self.handled, -1)
        self.own_ref = ctypes.byref(self.own)
        self.zero = ctypes.c_uint32(0)
        self.beneath = ctypes.c_int(1)
        self.ctypes_modules = tuple(n for n in sys.modules
                                    if n == "ctypes" or n.startswith("ctypes.") or n == "_ctypes")


def confine_job(job_dir: str, plan: LandlockPlan | None = None) -> None:
    """Confine this process to its job directory (Landlock). Raises OSError."""
    if plan is None:
        plan = LandlockPlan(landlock_static_rules())
    ctypes, libc = _landlock[0], _landlock[1]
    syscall = libc.syscall
    ruleset = syscall(_LANDLOCK_CREATE, plan.attr, plan.size, plan.zero)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    own = os.open(job_dir, os.O_PATH | os.O_CLOEXEC)
    try:
        plan.own.parent_fd = own
        fd = ctypes.c_int(ruleset)
        for ref in plan.refs + [plan.own_ref]:
            if syscall(_LANDLOCK_ADD_RULE, fd, plan.beneath, ref, plan.zero) != 0:
                raise OSError(ctypes.get_errno(), "landlock_add_rule failed")
        if libc.prctl(38, 1, 0, 0, 0) != 0:   # PR_SET_NO_NEW_PRIVS, required to confine without privileges
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
        if syscall(_LANDLOCK_RESTRICT, fd, plan.zero) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
        os.close(own)
    # The job never needs ctypes again; its files are out of reach now.
    for name in plan.ctypes_modules:
        sys.modules.pop(name, None)


def _node_traceback(exc: BaseException) -> str:
    """The traceback as the node author sees it: runner frames left out."""
    import traceback
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    own = os.path.realpath(__file__)
    frames = [f for f in te.stack if os.path.realpath(f.filename) != own]
    te.stack = traceback.StackSummary.from_list(frames)
    return "".join(te.format())


def _set_limits(limits: dict) -> None:
    def setlim(kind, soft, hard=None):
        hard = soft if hard is None else hard
        try:
            resource.setrlimit(kind, (soft, hard))
        except (ValueError, OSError):
            pass

    mib = int(limits["memory_mib"])
    if mib > 0:
        setlim(resource.RLIMIT_AS, mib * 1024 * 1024)
    cpu = int(limits["cpu_seconds"])
    if cpu > 0:
        setlim(resource.RLIMIT_CPU, cpu, cpu + 2)
    fsize = int(limits["max_file_bytes"])
    if fsize > 0:
        setlim(resource.RLIMIT_FSIZE, fsize)
    setlim(resource.RLIMIT_CORE, 0)
    # RLIMIT_NPROC counts every process of the uid and is ignored for root;
    # it only means something when the runner runs as an unprivileged uid.
    if os.getuid() != 0:
        setlim(resource.RLIMIT_NPROC, int(limits["max_processes"]))


class ChildPrelude:
    """What every job process sets up the same way, made once by the
    supervisor and inherited through fork() (see LandlockPlan for why): the
    text streams on the descriptors 0-2 the job process points at its own
    pipes, and the signal dispositions it sets. The supervisor never uses
    these streams itself.

    The dispositions are set through `_signal.signal` with plain numbers:
    `signal.signal` turns its arguments and result into enum members, which
    touched about 40 pages of the shared heap, each a copy in every job
    process (bench_latency.py counts page faults per job)."""

    def __init__(self):
        self.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        self.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True, write_through=True,
                                       errors="backslashreplace")
        self.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, write_through=True,
                                       errors="backslashreplace")
        import _signal
        self.set_signal = _signal.signal
        dfl, ign = int(signal.SIG_DFL), int(signal.SIG_IGN)
        # SIGXFSZ ignored: oversize writes raise OSError instead of killing the process.
        self.dispositions = tuple((int(s), dfl) for s in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)) \
            + ((int(signal.SIGXFSZ), ign),)


def _child_main(ctl_r: int, ev_w: int, out_w: int, err_w: int, reply_r: int, job_dir: str,
                confine: LandlockPlan | None, prelude: ChildPrelude) -> None:
    """Body of the forked job process. Never returns.

    It is forked ahead of time as a spare: everything that does not depend on
    the job happens before the job arrives on the control pipe, including
    confining itself to its own job directory.
    """
    code = 0
    try:
        os.setsid()
        if confine is not None:
            # First, while the supervisor's descriptors of the shared rules are still open.
            confine_job(job_dir, confine)
        signal.set_wakeup_fd(-1)
        for number, disposition in prelude.dispositions:
            prelude.set_signal(number, disposition)
        # Move the pipes out of the way first so no dup2 below clobbers one.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (out_w, err_w, ev_w, ctl_r, reply_r)]
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for target, fd in zip((1, 2, 3, 4, 5), high):
            os.dup2(fd, target)
        os.closerange(6, 1 << 16)
        pipe = _EventPipe(3)
        # Temporary files go to the job's own directory, the only writable place.
        os.environ["TMPDIR"] = os.environ["HOME"] = job_dir
        if "tempfile" in sys.modules:   # else it reads TMPDIR when a node imports it
            sys.modules["tempfile"].tempdir = job_dir
        modules_before = len(sys.modules)
        payload = bytearray()
        while True:
            chunk = os.read(4, 1 << 20)
            if not chunk:
                break
            payload += chunk
        os.close(4)
        if not payload:
            os._exit(0)     # the pool is shutting down; the spare was never used
        msg = marshal.loads(payload)   # written by the supervisor, never by node code
        del payload
        job, tmp_dir, guards_on = msg["job"], job_dir, msg["guards_on"]
        limits = job["limits"]
        _set_limits(limits)
        os.chdir(tmp_dir)
        try:
            outcome = _run_node(job, pipe, tmp_dir, guards_on)
        except MemoryError:
            outcome = {"t": "done", "status": "failed", "reason": "memory",
                       "message": f"The node exceeded its memory limit of {limits['memory_mib']} MiB.", "traceback": None}
        learned = _loaded_since(modules_before)
        if learned:
            outcome["learned"] = learned
        # Output written before the result must reach the pipes before it:
        # the supervisor finishes the job as soon as the result arrives.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        try:
            pipe.send(outcome)
        except MemoryError:
            pipe.send({"t": "done", "status": "failed", "reason": "memory", "message": "The node exceeded its memory limit.",
                       "traceback": None})
    except BaseException:
        code = 70
        try:
            import traceback
            os.write(2, traceback.format_exc().encode(errors="replace"))
        except Exception:
            pass
    os._exit(code)


def _loaded_since(count: int) -> list[str]:
    """The modules of PRELOADABLE loaded since sys.modules held `count`
    entries: the last ones added, as it keeps insertion order. Reading only
    those, not every name of PRELOADABLE, leaves the pages of the shared
    heap that hold the names untouched. A node that removes modules may make
    this miss one; the zygote then learns it from a later job."""
    added = len(sys.modules) - count
    if added <= 0:
        return []
    return [m for m in itertools.islice(reversed(sys.modules), added) if m in PRELOADABLE]


def _run_node(job: dict, pipe: _EventPipe, tmp_dir: str, guards_on: bool) -> dict:
    limits = job["limits"]
    ctx = Context(pipe, job, tmp_dir, int(limits["max_file_bytes"]))
    guards = None
    node_globals = {"__name__": NODE_MODULE_NAME, "__builtins__": builtins, "__file__": NODE_FILENAME}
    try:
        inputs = _decode_value(job.get("inputs") or {}, tmp_dir)
        params = _decode_value(job.get("params") or {}, tmp_dir)
        source = job.get("code") or ""
        import linecache
        compiled = _COMPILED.get(source)
        if compiled is None:
            linecache.cache[NODE_FILENAME] = (len(source), None, source.splitlines(True), NODE_FILENAME)
        else:
            linecache.cache[NODE_FILENAME] = compiled[1]
        loop = None
        if job.get("mode") == "async":
            import asyncio
            loop = asyncio.new_event_loop()     # its self-pipe socket must exist before the guards
        if guards_on:
            modules = job.get("modules") or {}
            allow = modules.get("allow")
            guards = _Guards(DEFAULT_ALLOWED_MODULES if allow is None else allow, modules.get("block") or (),
                             tmp_dir, node_globals)
            guards.install()
        exec(compile(source, NODE_FILENAME, "exec") if compiled is None else compiled[0], node_globals)
        run = node_globals.get("run")
        if not callable(run):
            raise NodeFailure("error", "The node code does not define a function run(inputs, params, ctx).")
        result = run(inputs, params, ctx)
        if loop is not None:
            import inspect
            if inspect.isawaitable(result):
                result = loop.run_until_complete(result)
        elif hasattr(result, "__await__"):
            if hasattr(result, "close"):
                result.close()
            raise NodeFailure("error", "run() is a coroutine function but the node's mode is sync; set mode to async.")
        outputs = _check_and_encode_outputs(result, job.get("outputs") or [], ctx, int(limits["max_output_bytes"]))
        if guards is not None and guards.violation:
            raise NodeFailure("sandbox", guards.violation[0].upper() + guards.violation[1:] + ".")
        return {"t": "done", "status": "succeeded", "outputs": outputs}
    except NodeFailure as f:
        if guards is not None and guards.violation and f.reason != "sandbox":
            return {"t": "done", "status": "failed", "reason": "sandbox",
                    "message": guards.violation[0].upper() + guards.violation[1:] + ".", "traceback": None}
        return {"t": "done", "status": "failed", "reason": f.reason, "message": f.message, "traceback": f.tb}
    except MemoryError:
        raise
    except BaseException as e:
        try:
            tb = _node_traceback(e)
        except MemoryError:
            raise
        except Exception:
            tb = None
        if guards is not None and guards.violation:
            return {"t": "done", "status": "failed", "reason": "sandbox",
                    "message": guards.violation[0].upper() + guards.violation[1:] + ".", "traceback": tb}
        import traceback
        summary = traceback.format_exception_only(type(e), e)[-1].strip()
        if isinstance(e, SandboxImportError):
            return {"t": "done", "status": "failed", "reason": "sandbox", "message": str(e)[0].upper() + str(e)[1:] + ".",
                    "traceback": tb}
        if isinstance(e, SystemExit):
            summary = f"The node called sys.exit({e.code!r})."
        return {"t": "done", "status": "failed", "reason": "error", "message": summary, "traceback": tb}


# --------------------------------------------------------------------------
# Parent side: the supervisor that forks, multiplexes and enforces limits
# --------------------------------------------------------------------------

_SPARE = struct.Struct("=i")       # zygote -> supervisor: b"S" + pid, with the job's pipe ends
_FDS = struct.Struct("=5i")        # those pipe ends, as SCM_RIGHTS carries them
_PRELOAD = b"I"                    # supervisor -> zygote: b"I" + module names (one a line) to load
_COMPILE = b"C"                    # supervisor -> zygote: b"C" + node source to compile for its job processes

# Node code the zygote has compiled once for the job processes it forks,
# by source: (code object, linecache entry). Compiling in each job process
# wrote to ~50 pages of the shared heap (the compiler's allocations and the
# interned-string table), each a copy. Code objects are immutable and every
# job still executes the code in globals of its own, so nothing a job does
# reaches another; the runs sharing a pool are those of one client anyway.
_COMPILED: dict[str, tuple] = {}
COMPILED_MAX = 32                  # sources kept, oldest dropped first
COMPILED_MAX_BYTES = 64 * 1024     # larger sources are compiled by each job
_ZYGOTE_REQUEST_MAX = 1 + COMPILED_MAX_BYTES      # the largest request: a source to compile
_EXIT = struct.Struct("=iid")      # zygote -> supervisor: b"X" + pid, wait status, CPU seconds


def _drain(fd: int) -> None:
    """Empties a non-blocking signal wakeup pipe that poll() found readable.

    One read takes what a burst of signals wrote (a byte each); the rest, if
    any, wakes the next poll(). Reading until the pipe is empty ended in a
    BlockingIOError every time, an exception the zygote paid for in pages
    written after each fork (see _zygote_main)."""
    try:
        os.read(fd, 65536)
    except BlockingIOError:
        pass


def _exited_children():
    """(pid, wait status, CPU seconds) of each child that has ended, reaped."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status, usage.ru_utime + usage.ru_stime


def _remember_code(data: bytes) -> None:
    """In the zygote: compile a node's source once (see _COMPILED)."""
    try:
        source = data.decode("utf-8", "surrogatepass")
        if source in _COMPILED:
            return
        code = compile(source, NODE_FILENAME, "exec")
    except Exception:   # the job processes compile it themselves, and report the error
        return
    while len(_COMPILED) >= COMPILED_MAX:
        del _COMPILED[next(iter(_COMPILED))]
    _COMPILED[source] = (code, (len(source), None, source.splitlines(True), NODE_FILENAME))


def _zygote_main(sock: socket.socket, plan: LandlockPlan | None, prelude: ChildPrelude) -> int:
    """Body of the zygote: forks a job process for each job directory the
    supervisor sends, hands back the pid and the supervisor's ends of its
    pipes, and reports each job process's exit (wait status, CPU time).

    The supervisor never forks itself: after a fork() every page either
    process writes is copied while the other still maps it, so a forking
    supervisor copied its working set after every job. The zygote writes
    almost nothing between forks, and the page tables are copied on the
    other core while the supervisor goes on handling events."""
    import gc
    import importlib
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, signal.SIG_DFL)
    # The job processes' text streams, on the descriptors 0-2 each points at
    # its own pipes: set here once rather than written in every one of them.
    sys.stdin, sys.stdout, sys.stderr = prelude.stdin, prelude.stdout, prelude.stderr
    sys.__stdout__, sys.__stderr__ = sys.stdout, sys.stderr
    _node_sys_path()   # for the guards of restricted jobs, worked out once
    gc.freeze()
    # Not a holder of the supervisor's stdin or stdout: the executor sees
    # the pool's end when the supervisor's ends are closed.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    # Nor of any pipe of the supervisor's (a spare's control pipe held here
    # would never reach end-of-file): only the socket and the shared
    # Landlock rules stay open.
    keep = sorted({2, sock.fileno(), *(plan.fds if plan is not None else ())})
    for low, high in zip(keep, keep[1:] + [1 << 16]):
        os.closerange(low + 1, high)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    # Received into, not allocated anew for each request: only the pages a
    # request fills are written (and copied while a job process shares them).
    buf = bytearray(_ZYGOTE_REQUEST_MAX)
    view = memoryview(buf)
    while True:
        for fd, _ in poller.poll():
            if fd == wake_r:
                _drain(wake_r)
                continue
            try:
                size = sock.recv_into(buf)
            except OSError:
                return 0
            if not size:
                return 0     # the supervisor is gone
            request = bytes(view[:size])
            if request[:1] == _COMPILE:
                _remember_code(request[1:])
                gc.freeze()
                continue
            if request[:1] == _PRELOAD:
                for name in request[1:].decode().split("\n"):
                    if name in PRELOADABLE:
                        try:
                            importlib.import_module(name)
                        except Exception:
                            pass   # a restricted pool's view may lack it: its jobs fail to import it too
                gc.freeze()
                continue
            job_dir = request.decode()
            fds: list[tuple[int, int]] = []
            try:
                for _ in range(5):   # control, events, stdout, stderr, query replies
                    fds.append(os.pipe())
                pid = os.fork()
            except OSError as e:
                for r, w in fds:
                    os.close(r)
                    os.close(w)
                sock.send(b"E" + str(e).encode())
                continue
            if pid == 0:
                try:
                    sock.close()
                    for own in (wake_r, wake_w):
                        os.close(own)
                    _child_main(fds[0][0], fds[1][1], fds[2][1], fds[3][1], fds[4][0], job_dir, plan, prelude)
                finally:
                    os._exit(70)
            theirs = _FDS.pack(fds[0][1], fds[1][0], fds[2][0], fds[3][0], fds[4][1])
            try:
                # socket.send_fds without its array and list: less written after fork().
                sock.sendmsg((b"S" + _SPARE.pack(pid),), ((socket.SOL_SOCKET, socket.SCM_RIGHTS, theirs),))
            except OSError:
                return 0
            finally:
                for r, w in fds:
                    os.close(r)
                    os.close(w)
        for pid, status, cpu in _exited_children():
            try:
                sock.send(b"X" + _EXIT.pack(pid, status, cpu))
            except OSError:
                return 0


class Zygote:
    """The supervisor's side of the zygote (see _zygote_main)."""

    def __init__(self, plan: LandlockPlan | None, prelude: ChildPrelude):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            code = 70
            try:
                self.sock.close()
                code = _zygote_main(theirs, plan, prelude)
            finally:
                os._exit(code)
        theirs.close()
        self.sock.setblocking(False)
        self.alive = True
        self.reaped = False                # waited for: its pid may belong to another process now
        self.asked: str | None = None      # the job directory of the spare asked for
        self.preloaded: set[str] = set()   # what it was asked to load into the job processes it forks
        self.compiled: dict[str, None] = {}   # the sources it was asked to compile, as it keeps them
        self.stale: set[str] = set()       # job directories of spares forked before the last of that
        self.spares: list = []             # (pid, control, events, stdout, stderr, replies, job dir) or an OSError
        self.exited: dict[int, tuple[int, float]] = {}

    def ask(self, job_dir: str) -> None:
        self.sock.send(job_dir.encode())
        self.asked = job_dir

    def preload(self, names) -> bool:
        """From the next spare asked for on, job processes start with these
        (of PRELOADABLE) loaded; spares asked for before are stale. True
        when that is news to the zygote."""
        new = sorted({n for n in names if isinstance(n, str) and n in PRELOADABLE} - self.preloaded)
        if not new or not self.alive:
            return False
        try:
            self.sock.send(_PRELOAD + "\n".join(new).encode())
        except OSError:
            return False
        self.preloaded.update(new)
        if self.asked is not None:
            self.stale.add(self.asked)
        self.stale.update(s[-1] for s in self.spares if not isinstance(s, OSError))
        return True

    def compile(self, source) -> None:
        """From the next job process it forks on, node code with this
        source starts compiled (see _COMPILED)."""
        if not isinstance(source, str) or source in self.compiled or not self.alive:
            return
        data = source.encode("utf-8", "surrogatepass")
        if len(data) > COMPILED_MAX_BYTES:   # in UTF-8, as the zygote receives it
            return
        try:
            self.sock.send(_COMPILE + data)
        except OSError:
            return
        while len(self.compiled) >= COMPILED_MAX:
            del self.compiled[next(iter(self.compiled))]
        self.compiled[source] = None

    def receive(self, timeout: float | None = 0.0) -> None:
        """Reads what the zygote sent; with a timeout (None: no limit), waits
        for the spare asked for, or for the next message when none is."""
        self.sock.settimeout(timeout)
        try:
            while self.alive:
                try:
                    msg, fds, _, _ = socket.recv_fds(self.sock, 512, 5)
                except (BlockingIOError, TimeoutError):
                    return
                except OSError:
                    msg, fds = b"", []
                if not msg:
                    self.alive = False
                    for fd in fds:
                        os.close(fd)
                    return
                kind = msg[:1]
                if kind == b"X":
                    pid, status, cpu = _EXIT.unpack(msg[1:])
                    self.exited[pid] = (status, cpu)
                elif kind == b"S":
                    self.spares.append((_SPARE.unpack(msg[1:])[0], *fds, self.asked))
                    self.asked = None
                elif kind == b"E":
                    self.spares.append(OSError(msg[1:].decode(errors="replace")))
                    self.asked = None
                if timeout != 0.0 and (kind != b"X" or self.asked is None):
                    # Whatever was waited for is here; the rest is read without waiting.
                    timeout = 0.0
                    self.sock.settimeout(0.0)
        finally:
            self.sock.setblocking(False)

    def stop(self) -> None:
        if not self.reaped:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.reaped = True
        self.sock.close()
        self.alive = False


def _become_subreaper() -> bool:
    """Job processes outlive a zygote killed from outside; as the
    subreaper, the supervisor inherits them and learns how they ended.
    Only where ctypes is loaded anyway (for Landlock)."""
    libc = _landlock[1] if _landlock is not None else None
    return libc is not None and libc.prctl(36, 1, 0, 0, 0) == 0   # PR_SET_CHILD_SUBREAPER


def _private_dir(prefix: str) -> str:
    """What tempfile.mkdtemp makes, without loading tempfile into the pool
    (see POOL_LAZY_MODULES)."""
    base = os.path.abspath(os.environ.get("TMPDIR") or "/tmp")   # the zygote tells job directories by their "/"
    while True:
        path = os.path.join(base, prefix + os.urandom(8).hex())
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue


def _remove_job_dir(path: str) -> None:
    """Most jobs leave their directory empty: one rmdir, and the tree walk
    only when that fails."""
    try:
        os.rmdir(path)
    except OSError:
        import shutil
        shutil.rmtree(path, ignore_errors=True)


class LogBudget:
    """Keeps the head and the tail of a job's log within max_log_bytes."""

    def __init__(self, max_bytes: int):
        self.head_left = max_bytes - max_bytes // 2
        self.tail_cap = max_bytes // 2
        self.in_tail = False
        self.tail: collections.deque = collections.deque()
        self.tail_bytes = 0
        self.dropped_lines = 0
        self.dropped_bytes = 0
        self.max_bytes = max_bytes

    def offer(self, event: dict, size: int) -> bool:
        """True if the event may be emitted now; otherwise it is kept for the tail."""
        if not self.in_tail and size <= self.head_left:
            self.head_left -= size
            return True
        self.in_tail = True
        self.tail.append((event, size))
        self.tail_bytes += size
        while self.tail_bytes > self.tail_cap and self.tail:
            _, s = self.tail.popleft()
            self.tail_bytes -= s
            self.dropped_lines += 1
            self.dropped_bytes += s
        return False

    def drain(self, job_id) -> list:
        out = []
        if self.dropped_lines:
            out.append({"v": 1, "type": "log", "job": job_id, "level": "warning", "stream": "ctx", "ts": time.time(),
                        "msg": f"Log limit of {self.max_bytes} bytes reached: dropped {_plural(self.dropped_lines, 'line')} "
                               f"({self.dropped_bytes} bytes) between the head and the tail of the log."})
        out.extend(e for e, _ in self.tail)
        self.tail.clear()
        return out


class RunningJob:
    def __init__(self, job: dict, received: float):
        self.id = job["job"]
        self.job = job
        self.received = received
        self.limits = job["limits"]
        self.deadline = received + float(self.limits["timeout_seconds"])
        self.pid = 0
        self.tmp_dir = ""
        self.fds: dict[int, str] = {}      # read fd -> "ev" | "stdout" | "stderr"
        self.bufs: dict[str, bytearray] = {"ev": bytearray(), "stdout": bytearray(), "stderr": bytearray()}
        self.kill_reason: str | None = None
        self.done: dict | None = None
        self.reply_fd: int | None = None     # answers to ctx.query, towards the job's process
        self.queries: set[int] = set()       # ctx.query ids asked and not answered yet
        self.budget = LogBudget(int(self.limits["max_log_bytes"]))
        secrets = []
        params = job.get("params") or {}
        for name in job.get("secret_params") or ():
            v = params.get(name)
            if v is None or isinstance(v, (dict, list)):
                continue
            s = v if isinstance(v, str) else json.dumps(v)
            if s:
                secrets.append(s)
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def mask(self, text):
        if not isinstance(text, str):
            return text
        for s in self.secrets:
            if s in text:
                text = text.replace(s, "***")
        return text


class Supervisor:
    def __init__(self, out, serve: bool, pool_trust: str | None, sandboxed: bool):
        self.out = out
        self.serve = serve
        self.pool_trust = pool_trust
        self.sandboxed = sandboxed
        self.jobs: dict[str, RunningJob] = {}
        self.by_fd: dict[int, RunningJob] = {}
        self.pending: list[bytes] = []
        self.sel = selectors.PollSelector()   # poll, unlike epoll, accepts a regular file as stdin
        self.stdin_buf = bytearray()
        self.stdin_open = True
        self.accepted = 0
        self.failed_any = False
        self.exit_after_first = not serve
        self.testing = os.environ.get(TESTING_ENV) == "1"
        self.tmp_root = _private_dir("katalusis-runner-")
        self.seq = 0
        self.completed: list[RunningJob] = []   # sent their result, not yet finished
        self.spare: tuple | None = None          # (pid, control fd, event fd, stdout fd, stderr fd, reply fd, job dir)
        self.zygote: Zygote | None = None        # started by run()
        self.spare_error: OSError | None = None  # why the zygote could not fork the spare asked for
        self.subreaper = False
        # Jobs confine themselves with Landlock inside the sandbox when the
        # kernel has it; the executor shares a pool between runs only then.
        self.isolation = "landlock" if sandboxed and _landlock_probe() >= 1 else "none"
        # Built once here, not in every job process.
        self.landlock_plan = LandlockPlan(landlock_static_rules()) if self.isolation == "landlock" else None
        self.prelude = ChildPrelude()

    # -- output ----------------------------------------------------------
    def emit(self, event: dict) -> None:
        try:
            self.pending.append(_dumps(event))
        except ValueError:
            self.pending.append(json.dumps(event, default=str).encode() + b"\n")

    def flush(self) -> None:
        if not self.pending:
            return
        data = b"".join(self.pending)
        self.pending.clear()
        try:
            self.out.write(data)
            self.out.flush()
        except BrokenPipeError:
            self.stdin_open = False

    # -- input -----------------------------------------------------------
    def handle_line(self, line: bytes) -> None:
        line = line.strip()
        if not line:
            return
        try:
            msg = json.loads(line)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError as e:
            self.emit({"v": 1, "type": "error", "job": None, "message": f"Could not parse input line as JSON: {e}."})
            return
        kind = msg.get("type")
        job_id = msg.get("job")
        if msg.get("v") != PROTOCOL_VERSION:
            self.emit({"v": 1, "type": "error", "job": job_id, "message": f"Unsupported protocol version {msg.get('v')!r}; expected 1."})
            return
        if kind == "cancel":
            rj = self.jobs.get(job_id)
            if rj is not None and rj.done is None and rj.kill_reason is None:
                rj.kill_reason = "cancelled"
                self.kill(rj)
            return
        if kind == "query_result":
            self.answer_query(msg)
            return
        if kind != "job":
            self.emit({"v": 1, "type": "error", "job": job_id, "message": f"Unknown message type {kind!r}."})
            return
        if self.exit_after_first and self.accepted:
            self.emit({"v": 1, "type": "error", "job": job_id, "message": "exec mode runs exactly one job."})
            return
        self.start_job(msg)

    def answer_query(self, msg: dict) -> None:
        """Hand a query_result to the job that asked; unknown or finished jobs are ignored."""
        rj = self.jobs.get(msg.get("job"))
        qid = msg.get("id")
        if rj is None or rj.reply_fd is None or qid not in rj.queries:
            return
        rj.queries.discard(qid)
        data = _dumps({k: v for k, v in msg.items() if k not in ("v", "type", "job")})
        # The job blocks reading this answer, so a blocking write completes
        # unless the process died (then the pipe is broken).
        try:
            os.set_blocking(rj.reply_fd, True)
            view = memoryview(data)
            while view:
                view = view[os.write(rj.reply_fd, view):]
        except OSError:
            pass

    def fail_early(self, job_id, reason: str, message: str, received: float) -> None:
        self.accepted += 1
        self.failed_any = True
        self.emit({"v": 1, "type": "finished", "job": job_id, "status": "failed", "reason": reason, "message": message,
                   "traceback": None, "duration_ms": int((time.monotonic() - received) * 1000)})

    def start_job(self, job: dict) -> None:
        received = time.monotonic()
        job_id = job.get("job")
        if not isinstance(job_id, str) or not job_id:
            self.emit({"v": 1, "type": "error", "job": None, "message": "A job needs a non-empty string \"job\" id."})
            return
        if job_id in self.jobs:
            self.emit({"v": 1, "type": "error", "job": job_id, "message": "A job with this id is already running."})
            return
        limits = dict(DEFAULT_LIMITS)
        limits.update({k: v for k, v in (job.get("limits") or {}).items() if isinstance(v, (int, float))})
        job["limits"] = limits
        trust = job.get("trust", "restricted")
        if trust not in ("restricted", "trusted"):
            return self.fail_early(job_id, "sandbox", f"Unknown trust level {trust!r}.", received)
        if trust == "restricted" and self.sandboxed and self.pool_trust == "trusted":
            return self.fail_early(job_id, "sandbox", "A restricted job cannot run in a trusted sandbox pool.", received)
        if job.get("mode", "sync") not in ("sync", "async"):
            return self.fail_early(job_id, "error", f"Unknown execution mode {job.get('mode')!r}.", received)
        ports = job.get("outputs") or []
        for p in ports:
            if not isinstance(p, dict) or not isinstance(p.get("name"), str) or p.get("type", "json") not in OUTPUT_TYPES:
                return self.fail_early(job_id, "output_type", f"Invalid output port declaration {p!r}.", received)
        guards_on = trust == "restricted"
        if job.get("_disable_python_guards") and self.testing:
            guards_on = False
        if job.get("mode") == "async":
            # Loaded by the job itself; the job processes forked after it start with it.
            self.zygote.preload(("asyncio",))
        rj = RunningJob(job, received)
        try:
            spare = self.take_spare()
        except OSError as e:
            return self.fail_early(job_id, "error", f"Could not start a process for the node ({e}).", received)
        pid, ctl_w, ev_r, out_r, err_r, reply_w, rj.tmp_dir = spare
        try:
            try:
                # marshal: the job process decodes it touching far fewer
                # shared pages than json does (see ChildPrelude).
                data = memoryview(marshal.dumps({"job": job, "guards_on": guards_on}))
                while data:
                    data = data[os.write(ctl_w, data):]
            finally:
                os.close(ctl_w)
        except OSError as e:
            for fd in (ev_r, out_r, err_r, reply_w):
                os.close(fd)
            self.kill_pid(pid)
            _remove_job_dir(rj.tmp_dir)
            return self.fail_early(job_id, "error", f"Could not hand the job to its process ({e}).", received)
        rj.pid = pid
        rj.reply_fd = reply_w
        self.accepted += 1
        self.jobs[job_id] = rj
        for fd, name in ((ev_r, "ev"), (out_r, "stdout"), (err_r, "stderr")):
            os.set_blocking(fd, False)
            rj.fds[fd] = name
            self.by_fd[fd] = rj
            self.sel.register(fd, selectors.EVENT_READ)
        self.emit({"v": 1, "type": "started", "job": job_id, "pid": pid})

    def ask_spare(self) -> None:
        """Ask the zygote for a job process, with its own job directory, that
        waits for its job on a control pipe; it arrives as a message."""
        if self.spare is not None or self.zygote.asked is not None or not self.zygote.alive:
            return
        self.seq += 1
        job_dir = os.path.join(self.tmp_root, f"job-{self.seq}")
        os.mkdir(job_dir, 0o700)
        try:
            self.zygote.ask(job_dir)
        except OSError:
            _remove_job_dir(job_dir)
            raise

    def on_zygote(self, timeout: float | None = 0.0) -> None:
        self.zygote.receive(timeout)
        while self.zygote.spares:
            got = self.zygote.spares.pop(0)
            if isinstance(got, OSError):
                self.spare_error = got
            elif got[-1] in self.zygote.stale:
                # Forked before the zygote loaded what the pool's jobs use.
                self.zygote.stale.discard(got[-1])
                self.drop_spare_tuple(got)
                try:
                    self.ask_spare()
                except OSError as e:
                    self.spare_error = e
            elif self.spare is None:
                self.spare = got
            else:   # one spare is asked for at a time; never two
                self.drop_spare_tuple(got)

    def take_spare(self) -> tuple:
        if self.spare is None:
            self.spare_error = None
            self.ask_spare()
            while self.spare is None and self.spare_error is None and self.zygote.alive:
                self.on_zygote(timeout=None)
            if self.spare is None:
                error, self.spare_error = self.spare_error, None
                raise error or OSError("the process that starts node processes is gone")
        spare, self.spare = self.spare, None
        return spare

    def drop_spare(self, reaped: bool = False) -> None:
        spare, self.spare = self.spare, None
        if spare is not None:
            self.drop_spare_tuple(spare, reaped)

    def drop_spare_tuple(self, spare: tuple, reaped: bool = False) -> None:
        pid, *fds, job_dir = spare
        for fd in fds:
            os.close(fd)
        _remove_job_dir(job_dir)
        if not reaped:
            self.kill_pid(pid)

    def kill_pid(self, pid: int) -> None:
        for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass

    # -- child output ----------------------------------------------------
    def read_fd(self, fd: int, rj: RunningJob, drain: bool = False) -> None:
        name = rj.fds[fd]
        while True:
            try:
                chunk = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.close_fd(fd, rj)
                return
            if name == "ev":
                self.on_event_bytes(rj, chunk)
            else:
                self.on_stream_bytes(rj, name, chunk)
            if not drain:
                return

    def close_fd(self, fd: int, rj: RunningJob) -> None:
        name = rj.fds.pop(fd, None)
        self.by_fd.pop(fd, None)
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError):
            pass
        os.close(fd)
        if name in ("stdout", "stderr") and rj.bufs[name]:
            self.log_line(rj, name, bytes(rj.bufs[name]))
            rj.bufs[name].clear()

    def on_stream_bytes(self, rj: RunningJob, name: str, chunk: bytes) -> None:
        buf = rj.bufs[name]
        buf += chunk
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                if len(buf) - start >= MAX_LINE_BYTES:
                    self.log_line(rj, name, bytes(buf[start:start + MAX_LINE_BYTES]))
                    start += MAX_LINE_BYTES
                    continue
                break
            if nl - start > MAX_LINE_BYTES:
                self.log_line(rj, name, bytes(buf[start:start + MAX_LINE_BYTES]))
                start += MAX_LINE_BYTES
                continue
            self.log_line(rj, name, bytes(buf[start:nl]))
            start = nl + 1
        del buf[:start]

    def log_line(self, rj: RunningJob, stream: str, raw: bytes) -> None:
        size = len(raw) + 1
        level = "info" if stream == "stdout" else "warning"
        if rj.budget.in_tail or size > rj.budget.head_left:
            # Cheap path: decode lazily only for lines that may survive in the tail.
            if size > rj.budget.tail_cap:
                rj.budget.in_tail = True
                rj.budget.dropped_lines += 1
                rj.budget.dropped_bytes += size
                return
        msg = rj.mask(raw.decode("utf-8", "replace").rstrip("\r"))
        ev = {"v": 1, "type": "log", "job": rj.id, "level": level, "stream": stream, "msg": msg, "ts": time.time()}
        if rj.budget.offer(ev, size):
            self.emit(ev)

    def on_event_bytes(self, rj: RunningJob, chunk: bytes) -> None:
        buf = rj.bufs["ev"]
        buf += chunk
        cap = int(rj.limits["max_output_bytes"]) * 2 + (8 << 20)
        if len(buf) > cap and buf.find(b"\n") < 0:
            buf.clear()
            if rj.kill_reason is None and rj.done is None:
                rj.kill_reason = "output_size"
                self.kill(rj)
            return
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            line = bytes(buf[:nl])
            del buf[:nl + 1]
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            self.on_child_message(rj, msg)

    def on_child_message(self, rj: RunningJob, msg: dict) -> None:
        t = msg.get("t")
        if t == "log":
            text = rj.mask(msg.get("msg", ""))
            ev = {"v": 1, "type": "log", "job": rj.id, "level": msg.get("level", "info"), "stream": "ctx",
                  "msg": text, "ts": msg.get("ts") or time.time()}
            if rj.budget.offer(ev, len(text.encode("utf-8", "replace")) + 1):
                self.emit(ev)
        elif t == "progress":
            self.emit({"v": 1, "type": "progress", "job": rj.id, "fraction": msg.get("fraction", 0.0),
                       "message": rj.mask(msg.get("message", ""))})
        elif t == "query":
            qid = msg.get("id")
            if not isinstance(qid, int) or qid in rj.queries:
                return
            rj.queries.add(qid)
            ev = {"v": 1, "type": "query", "job": rj.id, "id": qid, "connection": str(msg.get("connection", "")),
                  "sql": str(msg.get("sql", "")), "params": msg.get("params") or {}}
            if isinstance(msg.get("max_rows"), int):
                ev["max_rows"] = msg["max_rows"]
            self.emit(ev)
        elif t == "done" and rj.done is None:
            rj.done = msg
            self.completed.append(rj)
            learned = msg.get("learned")
            if isinstance(learned, list) and self.zygote.preload(learned):
                self.drop_spare()
            if msg.get("status") == "succeeded":
                self.zygote.compile(rj.job.get("code"))

    # -- lifecycle -------------------------------------------------------
    def kill(self, rj: RunningJob) -> None:
        self.kill_pid(rj.pid)

    def reap(self) -> None:
        exited, self.zygote.exited = self.zygote.exited, {}
        # The supervisor's own children: the zygote, and job processes it
        # left behind if it died (they are reparented here, the subreaper).
        for pid, status, cpu in _exited_children():
            if pid == self.zygote.pid:
                self.zygote.alive = False
                self.zygote.reaped = True
            else:
                exited[pid] = (status, cpu)
        if not self.zygote.alive and self.stdin_open:
            self.restart_zygote()
        if self.spare is not None and self.spare[0] in exited:
            self.drop_spare(reaped=True)
        # A job that delivered its result is finished right away; waiting
        # for the exit of its process would only add latency.
        while self.completed:
            rj = self.completed.pop()
            if rj.id in self.jobs and self.jobs[rj.id] is rj:
                self.finish(rj, None, None)
        for rj in list(self.jobs.values()):
            if rj.pid in exited:
                self.finish(rj, *exited[rj.pid])

    def start_zygote(self) -> None:
        self.zygote = Zygote(self.landlock_plan, self.prelude)
        self.sel.register(self.zygote.sock.fileno(), selectors.EVENT_READ)

    def restart_zygote(self) -> None:
        """The zygote died (killed from outside): a new one takes over. The
        spare asked for is lost; job processes it started are reaped here."""
        old = self.zygote
        try:
            self.sel.unregister(old.sock.fileno())
        except (KeyError, ValueError):
            pass
        old.stop()
        if old.asked is not None:
            _remove_job_dir(old.asked)
        if not self.subreaper:
            # Nobody will learn how these processes end: stop them now.
            for rj in list(self.jobs.values()):
                if rj.done is None:
                    if rj.kill_reason is None:
                        rj.kill_reason = "lost"
                    self.kill(rj)
                    self.finish(rj, signal.SIGKILL, None)
        self.start_zygote()

    def finish(self, rj: RunningJob, status: int | None, cpu: float | None) -> None:
        # Kill whatever the node left behind in its process group, then
        # read what is still buffered in the pipes.
        try:
            os.killpg(rj.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for fd in list(rj.fds):
            self.read_fd(fd, rj, drain=True)
            if fd in rj.fds:
                self.close_fd(fd, rj)
        for ev in rj.budget.drain(rj.id):
            self.emit(ev)
        if rj.reply_fd is not None:
            os.close(rj.reply_fd)
            rj.reply_fd = None
        _remove_job_dir(rj.tmp_dir)
        del self.jobs[rj.id]
        limits = rj.limits
        ev = {"v": 1, "type": "finished", "job": rj.id}
        # A kill decided by the supervisor wins over a result that raced it.
        done = rj.done if rj.kill_reason is None else None
        if status is None and done is None:
            done = rj.done
        if done is not None:
            if done.get("status") == "succeeded":
                ev.update(status="succeeded", outputs=done.get("outputs", {}))
            else:
                tb = rj.mask(done.get("traceback"))
                ev.update(status="failed", reason=done.get("reason", "error"), message=rj.mask(done.get("message", "")),
                          traceback=tb)
                if tb:
                    self.emit({"v": 1, "type": "log", "job": rj.id, "level": "error", "stream": "ctx",
                               "msg": tb.rstrip("\n"), "ts": time.time()})
        else:
            reason, message = self.death_reason(rj, status, cpu)
            ev.update(status="failed", reason=reason, message=message, traceback=None)
        if ev["status"] != "succeeded":
            self.failed_any = True
        ev["duration_ms"] = int((time.monotonic() - rj.received) * 1000)
        self.emit(ev)

    def death_reason(self, rj: RunningJob, status: int, cpu: float | None) -> tuple[str, str]:
        limits = rj.limits
        if rj.kill_reason == "timeout":
            return "timeout", f"The node exceeded its wall-clock timeout of {limits['timeout_seconds']} s and was killed."
        if rj.kill_reason == "cancelled":
            return "cancelled", "The node was cancelled."
        if rj.kill_reason == "lost":
            return "error", "The process that starts node processes died; this node's process was stopped."
        if rj.kill_reason == "output_size":
            return "output_size", f"The node sent more than {limits['max_output_bytes']} bytes of output and was killed."
        cpu_used = cpu or 0.0
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_used >= float(limits["cpu_seconds"])):
                return "cpu", f"The node exceeded its CPU time limit of {limits['cpu_seconds']} s."
            if sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGKILL):
                return "memory", (f"The node process died with {signal.Signals(sig).name}, most likely from exceeding "
                                  f"its memory limit of {limits['memory_mib']} MiB.")
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return "error", f"The node process was killed by {name} before it produced a result."
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        return "error", f"The node process exited with code {code} before it produced a result."

    def shutdown(self) -> None:
        self.drop_spare()
        for rj in list(self.jobs.values()):
            if rj.kill_reason is None:
                rj.kill_reason = "cancelled"
            self.kill(rj)
        deadline = time.monotonic() + 5
        while self.jobs and self.zygote.alive and time.monotonic() < deadline:
            self.on_zygote(timeout=max(0.01, deadline - time.monotonic()))
            self.reap()
        for rj in list(self.jobs.values()):
            self.finish(rj, signal.SIGKILL, None)
        self.zygote.stop()
        while True:   # processes reparented here that have ended; the sandbox's end takes the rest
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        self.flush()
        import shutil
        shutil.rmtree(self.tmp_root, ignore_errors=True)

    def run(self, stdin_fd: int) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # SIGTERM/SIGINT unwind through the finally below: children are killed
        # and the temp root is removed.
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, lambda *_: sys.exit(0))
        self.subreaper = self.isolation == "landlock" and _become_subreaper()
        self.start_zygote()
        self.sel.register(wake_r, selectors.EVENT_READ)
        self.sel.register(stdin_fd, selectors.EVENT_READ)
        if self.serve:
            self.emit({"v": 1, "type": "ready", "job": None, "pid": os.getpid(), "python": sys.version.split()[0],
                       "sandboxed": self.sandboxed, "trust": self.pool_trust, "isolation": self.isolation})
            self.flush()
        try:
            while True:
                if not self.stdin_open and not self.jobs:
                    break
                if self.exit_after_first and self.accepted and not self.jobs:
                    break
                if not self.stdin_open and self.serve:
                    break
                now = time.monotonic()
                timeout = None
                live = [rj.deadline for rj in self.jobs.values() if rj.done is None and rj.kill_reason is None]
                if live:
                    timeout = max(0.0, min(live) - now)
                elif self.jobs:
                    timeout = 0.05   # exits arrive as messages from the zygote; this is a backstop
                ready = self.sel.select(timeout)
                for key, _ in ready:
                    fd = key.fd
                    if fd == wake_r:
                        _drain(wake_r)
                    elif fd == stdin_fd:
                        self.read_stdin(stdin_fd)
                    elif fd == self.zygote.sock.fileno():
                        self.on_zygote()
                    else:
                        rj = self.by_fd.get(fd)
                        if rj is not None and fd in rj.fds:
                            self.read_fd(fd, rj)
                now = time.monotonic()
                for rj in list(self.jobs.values()):
                    if now >= rj.deadline and rj.done is None and rj.kill_reason is None:
                        rj.kill_reason = "timeout"
                        self.kill(rj)
                self.reap()
                self.flush()
                if self.serve and self.stdin_open:
                    # The next job process is forked ahead, by the zygote on
                    # the other core, so the next job does not wait for fork().
                    try:
                        self.ask_spare()
                    except OSError:
                        pass   # e.g. the disk is full; asked again after the next event
        finally:
            self.shutdown()
        if self.serve:
            return 0
        if not self.accepted:
            return 2
        return 1 if self.failed_any else 0

    def read_stdin(self, fd: int) -> None:
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            self.stdin_open = False
            self.sel.unregister(fd)
            if self.stdin_buf:
                self.handle_line(bytes(self.stdin_buf))
                self.stdin_buf.clear()
            return
        self.stdin_buf += chunk
        while True:
            nl = self.stdin_buf.find(b"\n")
            if nl < 0:
                break
            line = bytes(self.stdin_buf[:nl])
            del self.stdin_buf[:nl + 1]
            self.handle_line(line)


# --------------------------------------------------------------------------
# Sandbox launcher (bubblewrap)
# --------------------------------------------------------------------------

# Where the runner file appears inside the sandbox (read-only).
SANDBOX_RUNNER = "/tmp/.katalusis/katalusis_runner.py"

# Inside the sandbox the runner is imported from its compiled form (see
# compile_runner) rather than run as a script.
_IMPORT_RUNNER = ("import sys; sys.path.insert(0, {dir!r}); import katalusis_runner as r; del sys.path[0]; "
                  "sys.exit(r.main(sys.argv[1:]))")

# Trusted pools get their own network namespace; slirp4netns (a user-mode
# TCP/IP stack) gives it outbound access with host-loopback forwarding off.
SLIRP4NETNS = os.environ.get("KATALUSIS_RUNNER_SLIRP4NETNS", "/usr/bin/slirp4netns")
NSENTER = os.environ.get("KATALUSIS_RUNNER_NSENTER", "/usr/bin/nsenter")
IP = os.environ.get("KATALUSIS_RUNNER_IP", "/usr/sbin/ip")
SLIRP_GATEWAY = "10.0.2.2"
SLIRP_DNS = "10.0.2.3"
# Egress denied to trusted nodes unless a more specific --egress-allow entry
# says otherwise: private (RFC 1918), carrier-grade NAT, link-local (cloud
# metadata), "this network", benchmarking, IETF, multicast and reserved.
# 127.0.0.0/8 is the sandbox's own loopback: the host's is in another
# network namespace and slirp4netns runs with --disable-host-loopback.
DEFAULT_EGRESS_DENY = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
)
# Directories that hold host Unix sockets; trusted sandboxes see empty tmpfs
# instead. Sockets elsewhere are masked one by one (see _host_unix_sockets).
SOCKET_DIRS = ("/run", "/var/run", "/var/tmp", "/var/lib/mysql", "/var/spool/postfix")


def egress_routes(allow, deny) -> list[tuple[str, str]]:
    """The routes that implement an egress policy inside the sandbox.

    ("prohibit", cidr) makes connect() fail at once with EACCES;
    ("allow", cidr) routes through the user-mode stack. The kernel picks the
    most specific route, so an allow entry inside a denied range opens that
    part only; an entry listed in both lists is allowed.
    """
    import ipaddress
    allowed = {ipaddress.ip_network(c, strict=False) for c in allow}
    denied = {ipaddress.ip_network(c, strict=False) for c in deny} - allowed
    routes = [("prohibit", str(n)) for n in sorted(denied, key=lambda n: (n.version, n))]
    routes += [("allow", str(n)) for n in sorted(allowed, key=lambda n: (n.version, n))]
    return [r for r in routes if ":" not in r[1]]    # the sandbox has no IPv6 route at all


def is_egress_allowed(address: str, allow, deny) -> bool:
    """What the routes of egress_routes decide for one IPv4 address (longest prefix wins)."""
    import ipaddress
    ip = ipaddress.ip_address(address)
    best = None
    for kind, cidr in egress_routes(allow, deny):
        net = ipaddress.ip_network(cidr)
        if ip in net and (best is None or net.prefixlen > best[1].prefixlen):
            best = (kind, net)
    return best is None or best[0] == "allow"


def _host_addresses() -> list[str]:
    """The host's own IPv4 addresses: services bound to 0.0.0.0 listen on them."""
    import subprocess
    try:
        out = subprocess.run([IP, "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    addrs = []
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            addr = parts[parts.index("inet") + 1].split("/")[0]
            if not addr.startswith("127."):
                addrs.append(addr + "/32")
    return addrs


def _host_unix_sockets() -> list[str]:
    """Paths of the host's listening Unix sockets outside SOCKET_DIRS (masked with /dev/null)."""
    paths = set()
    try:
        with open("/proc/net/unix") as f:
            next(f, None)
            for line in f:
                parts = line.split()
                if len(parts) >= 8 and parts[7].startswith("/"):
                    paths.add(parts[7])
    except OSError:
        return []
    dirs = [os.path.realpath(d) for d in SOCKET_DIRS + ("/tmp", "/dev", "/proc", "/sys")]
    out = []
    for p in sorted(paths):
        real = os.path.realpath(p)
        if not _is_under(real, dirs) and os.path.exists(real) and not os.path.isdir(real):
            out.append(real)
    return out


def _stdlib_dir() -> str:
    import sysconfig
    return os.path.realpath(sysconfig.get_paths()["stdlib"])


def build_stdlib_view(dest: str, allow=DEFAULT_ALLOWED_MODULES) -> list[str]:
    """Fill dest with the part of the standard library restricted nodes may see.

    That is the allowed modules (whole packages) and what the warm pool has
    loaded anyway (the runner's own imports and the allowed modules'
    dependencies, reachable in memory whatever the files say). Nothing else:
    no site-packages, no ctypes, urllib, http, multiprocessing, sqlite3, ...
    so importing them fails even with the Python guards switched off.
    Returns the module names whose files were included.
    """
    import shutil
    import importlib.util
    _preimport()
    for name in POOL_LAZY_MODULES:   # the supervisor in the sandbox loads them when it needs them
        importlib.import_module(name)
    std = _stdlib_dir()
    allowed_tops = set(allow) | set(IMPLICIT_MODULES)
    files: set[str] = set()
    trees: set[str] = set()
    names = []
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if not path:
            continue
        path = os.path.realpath(path)
        if not path.startswith(std + os.sep) or "site-packages" in path.split(os.sep):
            continue
        names.append(name)
        top = name.split(".")[0]
        if top in allowed_tops and getattr(mod, "__path__", None) and name == top:
            trees.add(os.path.dirname(path))
        files.add(path)
        if path.endswith(".py"):
            files.add(importlib.util.cache_from_source(path))
    for name in allowed_tops:
        spec = importlib.util.find_spec(name) if name not in sys.modules else None
        if spec is not None and spec.origin and os.path.realpath(spec.origin).startswith(std + os.sep):
            if spec.submodule_search_locations:
                trees.add(os.path.dirname(os.path.realpath(spec.origin)))
            else:
                files.add(os.path.realpath(spec.origin))
            names.append(name)
    for tree in trees:
        shutil.copytree(tree, os.path.join(dest, os.path.relpath(tree, std)), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("tests", "test"))
    for path in files:
        if os.path.isfile(path):
            target = os.path.join(dest, os.path.relpath(path, std))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(path, target)
    # The interpreter looks for os.py (or its pyc) to find the prefix.
    for landmark in ("os.py",):
        if not os.path.exists(os.path.join(dest, landmark)):
            shutil.copy2(os.path.join(std, landmark), os.path.join(dest, landmark))
    return sorted(set(names))


def supervisor_lib(dest: str) -> None:
    """Fill dest with ctypes (package and C extension) for the sandboxed
    supervisor, which confines each job with it (see confine_job)."""
    import shutil
    import importlib.util
    std = _stdlib_dir()
    shutil.copytree(os.path.join(std, "ctypes"), os.path.join(dest, "ctypes"),
                    ignore=shutil.ignore_patterns("test", "tests", "macholib"))
    spec = importlib.util.find_spec("_ctypes")
    if spec is not None and spec.origin and os.path.isfile(spec.origin):
        shutil.copy2(spec.origin, os.path.join(dest, os.path.basename(spec.origin)))


def compile_runner(dest: str) -> str:
    """Compiles this file into dest; returns the compiled file's path.

    Run as a script, the file was compiled in the pool's own process: the
    compiler's garbage stayed in the heap, about 6 MiB resident that the
    zygote and every job process inherited (15.5 against 9.6 MiB of
    anonymous memory), and a fork copies, and an exit tears down, the page
    table entry of every resident page."""
    import py_compile
    try:
        return py_compile.compile(os.path.realpath(__file__), cfile=os.path.join(dest, "katalusis_runner.pyc"),
                                  doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError as e:
        raise OSError(str(e)) from e


def bwrap_argv(trust: str, resolv_conf: str | None = None, stdlib_view: str | None = None,
               lib: str | None = None, compiled: str | None = None) -> list[str]:
    """The bubblewrap command line for a pool of the given trust level;
    `compiled` (see compile_runner) is mounted as the runner's cached
    bytecode."""
    import importlib.util
    prefix = os.path.realpath(sys.base_prefix)
    runner = os.path.realpath(__file__)
    argv = [BWRAP, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    if trust == "restricted":
        argv += ["--unshare-net"]
        for d in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/lib32", "/usr/lib32"):
            if os.path.islink(d):
                argv += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                argv += ["--ro-bind", d, d]
        argv += ["--ro-bind", prefix, prefix]
        if stdlib_view:
            argv += ["--ro-bind", stdlib_view, _stdlib_dir()]
        for d in TZ_DIRS:
            argv += ["--ro-bind", os.path.realpath(d), d]
        exe = os.path.realpath(sys.executable)
        if not exe.startswith(prefix + os.sep):
            argv += ["--ro-bind", exe, exe]
        path = os.path.join(prefix, "bin")
    else:
        # Own network namespace (wired to slirp4netns by the launcher): no
        # host loopback, no abstract Unix sockets of the host. Socket
        # directories are replaced by empty tmpfs, other socket files by
        # /dev/null, and DNS goes to the user-mode stack's forwarder.
        argv += ["--unshare-net", "--ro-bind", "/", "/"]
        for d in SOCKET_DIRS:
            if os.path.isdir(d) and not os.path.islink(d):
                argv += ["--tmpfs", d]
        for sock in _host_unix_sockets():
            argv += ["--ro-bind", "/dev/null", sock]
        if resolv_conf:
            argv += ["--ro-bind", resolv_conf, "/etc/resolv.conf"]
        path = "/usr/local/bin:/usr/bin:/bin"
    # The runner is mounted at a fixed path after the private /tmp exists, so a
    # checkout that itself lives under /tmp is not hidden by that tmpfs.
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--dir", os.path.dirname(SANDBOX_RUNNER), "--ro-bind", runner, SANDBOX_RUNNER, "--chdir", "/tmp",
             *(["--ro-bind", compiled, importlib.util.cache_from_source(SANDBOX_RUNNER)] if compiled else []),
             *(["--ro-bind", lib, SUPERVISOR_LIB] if lib else []),
             "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp", "--setenv", "PATH", path,
             "--setenv", "LANG", "C.UTF-8"]
    if os.environ.get(TESTING_ENV) == "1":
        argv += ["--setenv", TESTING_ENV, "1"]
    # The root bwrap builds is a tmpfs holding the mount points; make it
    # read-only too so /tmp stays the only writable place.
    argv += ["--remount-ro", "/"]
    return argv


def _pids_cgroup(max_pids: int) -> str | None:
    """Create a pids cgroup for the pool if the hierarchy is writable.

    RLIMIT_NPROC does not apply to root (and the user namespace maps the
    sandbox uid back to the invoking uid), so a pids cgroup is what stops a
    fork bomb when the runner is started as root.
    """
    candidates = ["/sys/fs/cgroup/pids"]
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            if "pids" in f.read().split():
                candidates.append("/sys/fs/cgroup")
    except OSError:
        pass
    for base in candidates:
        if not os.path.isfile(os.path.join(base, "cgroup.procs")):
            continue
        path = os.path.join(base, f"katalusis-runner-{os.getpid()}")
        try:
            os.mkdir(path)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write(str(max_pids))
            return path
        except OSError:
            try:
                os.rmdir(path)
            except OSError:
                pass
    return None


def _fatal(message: str) -> int:
    sys.stderr.write(json.dumps({"v": 1, "type": "fatal", "job": None, "message": message}) + "\n")
    sys.stderr.flush()
    return 2


def _missing_network_tools() -> list[str]:
    return [t for t in (SLIRP4NETNS, NSENTER, IP) if not (os.path.isfile(t) and os.access(t, os.X_OK))]


def _read_bwrap_info(fd: int, timeout: float = 30) -> dict:
    """bwrap's --info-fd JSON (it holds the sandbox's pid)."""
    import select
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return json.loads(data)
        except ValueError:
            pass
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise OSError("bwrap did not report its sandbox pid")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise OSError("bwrap exited before the sandbox was set up")
        data += chunk


def _wire_network(pid: int, allow, deny):
    """Attach slirp4netns to the sandbox's network namespace and install the egress routes.

    Returns the slirp4netns process; it exits when the returned process's
    exit pipe (held by this launcher) closes.
    """
    import subprocess
    import select
    enter = [NSENTER, "-t", str(pid), "-n"] if os.geteuid() == 0 else \
        [NSENTER, "-t", str(pid), "-U", "-n", "--preserve-credentials"]
    # bwrap reports the pid before it has brought up the sandbox's loopback;
    # netlink changes made meanwhile race with that setup, so wait for it.
    deadline = time.monotonic() + 10
    while True:
        r = subprocess.run(enter + [IP, "-o", "-4", "addr", "show", "dev", "lo"], capture_output=True, text=True,
                           timeout=10)
        if "127.0.0.1" in r.stdout:
            break
        if time.monotonic() > deadline:
            raise OSError(f"the sandbox's loopback did not come up ({r.stderr.strip() or 'no address'})")
        time.sleep(0.005)
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    os.set_inheritable(exit_w, False)
    slirp = subprocess.Popen(
        [SLIRP4NETNS, "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox",
         "--enable-seccomp", "--ready-fd", str(ready_w), "--exit-fd", str(exit_r), "--netns-type=path"]
        + ([] if os.geteuid() == 0 else [f"--userns-path=/proc/{pid}/ns/user"]) + [f"/proc/{pid}/ns/net", "tap0"],
        pass_fds=(ready_w, exit_r), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(ready_w)
    os.close(exit_r)
    slirp.exit_w = exit_w
    try:
        if not select.select([ready_r], [], [], 30)[0] or os.read(ready_r, 1) != b"1":
            err = slirp.stderr.read1(4096).decode(errors="replace").strip() if slirp.poll() is not None else "timed out"
            raise OSError(f"slirp4netns did not come up ({err or 'no detail'})")
    finally:
        os.close(ready_r)
    for kind, cidr in egress_routes(allow, list(deny) + _host_addresses()):
        cmd = ["route", "add", "prohibit", cidr] if kind == "prohibit" else \
            ["route", "add", cidr, "via", SLIRP_GATEWAY, "dev", "tap0"]
        r = subprocess.run(enter + [IP] + cmd, capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise OSError(f"could not install the egress route {kind} {cidr} ({r.stderr.strip()})")
    return slirp


def _stop_slirp(slirp) -> None:
    import subprocess
    if slirp is None:
        return
    try:
        os.close(slirp.exit_w)
    except OSError:
        pass
    try:
        slirp.wait(timeout=5)
    except subprocess.TimeoutExpired:
        slirp.kill()
        slirp.wait()


def launch_sandboxed(mode: str, trust: str, max_pids: int, egress_allow=(), egress_deny=DEFAULT_EGRESS_DENY,
                     modules_allow=None) -> int:
    import shutil
    import tempfile
    if not (os.path.isfile(BWRAP) and os.access(BWRAP, os.X_OK)):
        return _fatal(f"Sandbox 'bwrap' was requested but {BWRAP} is not installed; refusing to run unsandboxed.")
    resolv = None
    if trust == "trusted":
        missing = _missing_network_tools()
        if missing:
            return _fatal(f"Trusted nodes run in their own network namespace, which needs {', '.join(missing)} "
                          "(Debian packages slirp4netns, util-linux, iproute2); refusing to give them the host's "
                          "network.")
        fd, resolv = tempfile.mkstemp(prefix="katalusis-resolv-")
        os.write(fd, f"nameserver {SLIRP_DNS}\n".encode())
        os.fchmod(fd, 0o644)
        os.close(fd)
    view = lib = None
    if trust == "restricted":
        # The module allow-list enforced below Python: the sandbox's standard
        # library holds only the allowed modules and what the pool loads.
        view = tempfile.mkdtemp(prefix="katalusis-stdlib-")
        lib = tempfile.mkdtemp(prefix="katalusis-lib-")
        try:
            build_stdlib_view(view, DEFAULT_ALLOWED_MODULES if modules_allow is None else modules_allow)
        except OSError as e:
            shutil.rmtree(view, ignore_errors=True)
            shutil.rmtree(lib, ignore_errors=True)
            return _fatal(f"The restricted sandbox's standard library could not be prepared ({e}); refusing to run "
                          "without it.")
        try:
            supervisor_lib(lib)
        except OSError:
            pass   # no ctypes: jobs are not confined, and the executor then gives every run its own pool
    code = compiled = None
    try:
        code = tempfile.mkdtemp(prefix="katalusis-code-")
        compiled = compile_runner(code)
    except OSError as e:
        sys.stderr.write(json.dumps({"v": 1, "type": "log", "job": None, "level": "warning", "stream": "stderr",
                                     "ts": time.time(), "msg": f"The runner could not be compiled ahead ({e}); "
                                     "the pool compiles it itself."}) + "\n")
    try:
        return _launch(mode, trust, max_pids, bwrap_argv(trust, resolv, view, lib, compiled), egress_allow,
                       egress_deny, compiled is not None)
    finally:
        if resolv:
            os.unlink(resolv)
        for d in (view, lib, code):
            if d:
                shutil.rmtree(d, ignore_errors=True)


def _site_paths() -> list[str]:
    """The directories `site` adds to sys.path in isolated mode: the
    site-packages directories and the directory lines of their .pth files.

    A pool runs with -S and a trusted one gets these instead, so packages
    installed on the host import as before, but no .pth import line and no
    sitecustomize runs in it. What those load stays in the memory of every
    job process; on the benchmark host a .pth file loaded certifi, 2 MiB and
    threading and random, which also run code in every child after fork():
    about 90 of a trusted job's 430 page faults (see POOL_LAZY_MODULES)."""
    import site
    paths: list[str] = []
    for top in site.getsitepackages():
        if not os.path.isdir(top):
            continue
        if top not in paths:
            paths.append(top)
        for name in sorted(os.listdir(top)):
            if not name.endswith(".pth"):
                continue
            try:
                with open(os.path.join(top, name), encoding="utf-8") as f:
                    lines = f.read().splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for line in lines:
                line = line.strip()
                if not line or line.startswith(("#", "import ", "import\t")):
                    continue
                path = os.path.realpath(os.path.join(top, line))
                if os.path.isdir(path) and path not in paths:
                    paths.append(path)
    return paths


def _launch(mode: str, trust: str, max_pids: int, base: list[str], egress_allow, egress_deny,
            compiled: bool = False) -> int:
    import subprocess
    exe = os.path.realpath(sys.executable)
    # Preflight: prove the sandbox can be built before taking jobs.
    try:
        probe = subprocess.run(base + ["--", exe, "-I", "-S", "-c", "pass"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return _fatal(f"Sandbox 'bwrap' could not be started ({e}); refusing to run unsandboxed.")
    if probe.returncode != 0:
        detail = probe.stderr.decode(errors="replace").strip().splitlines()
        return _fatal(f"Sandbox 'bwrap' failed to start ({detail[-1] if detail else 'exit ' + str(probe.returncode)}); "
                      "refusing to run unsandboxed.")
    cgroup = _pids_cgroup(max_pids)
    if cgroup is None:
        sys.stderr.write(json.dumps({"v": 1, "type": "log", "job": None, "level": "warning", "stream": "stderr",
                                     "ts": time.time(), "msg": "No writable pids cgroup; the process count of the pool "
                                     "is bounded only by RLIMIT_NPROC (not enforced for root) and timeouts."}) + "\n")

    def join_cgroup():
        if cgroup:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    pass_fds: tuple = ()
    info_r = block_w = -1
    if trust == "trusted":
        # bwrap reports the sandbox pid on --info-fd and waits on --block-fd
        # before running the runner, so no node code runs before the network
        # namespace has its egress routes.
        info_r, info_w = os.pipe()
        block_r, block_w = os.pipe()
        for fd in (info_r, block_w):
            os.set_inheritable(fd, False)
        base = base + ["--info-fd", str(info_w), "--block-fd", str(block_r)]
        pass_fds = (info_w, block_r)
    entry = ["-c", _IMPORT_RUNNER.format(dir=os.path.dirname(SANDBOX_RUNNER))] if compiled else [SANDBOX_RUNNER]
    # -S: the pool does not run site; a trusted one is given the directories it would add.
    site = ["--site-path", os.pathsep.join(_site_paths())] if trust == "trusted" else []
    argv = base + ["--", exe, "-I", "-S", *entry, mode, "--sandbox", "none", "--trust", trust, *site,
                   "--inside-sandbox"]
    try:
        child = subprocess.Popen(argv, preexec_fn=join_cgroup, close_fds=True, pass_fds=pass_fds)
    except OSError as e:
        return _fatal(f"Sandbox 'bwrap' could not be started ({e}); refusing to run unsandboxed.")
    finally:
        for fd in pass_fds:
            os.close(fd)
    slirp = None
    if trust == "trusted":
        sandbox_pid = None
        try:
            info = _read_bwrap_info(info_r)
            sandbox_pid = int(info["child-pid"])
            slirp = _wire_network(sandbox_pid, egress_allow, egress_deny)
        except (OSError, KeyError, ValueError, subprocess.TimeoutExpired) as e:
            # Kill the sandbox (its pid 1 takes the whole pid namespace with
            # it) while it still waits on the block pipe: closing that pipe
            # would let it start.
            for pid in (sandbox_pid, child.pid):
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            child.wait()
            os.close(block_w)
            _stop_slirp(slirp)
            return _fatal(f"The trusted sandbox's network could not be set up ({e}); refusing to give trusted "
                          "nodes the host's network.")
        finally:
            os.close(info_r)
        os.write(block_w, b"1")
        os.close(block_w)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda sig, _f: child.send_signal(sig))
    code = child.wait()
    _stop_slirp(slirp)
    if cgroup:
        for _ in range(50):
            try:
                os.rmdir(cgroup)
                break
            except OSError:
                time.sleep(0.05)
    return code if code >= 0 else 128 - code


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

def _preimport(everything: bool = True) -> None:
    """Loads what nodes import, once, before anything forks.

    A pool (`everything=False`) loads only linecache, which every job uses;
    PRELOADABLE, including what C code imports on a node's behalf (which
    the guards allow, see IMPLICIT_MODULES), its zygote loads once a job
    used it (see Zygote.preload). Loading all of it up front made every
    fork and exit of a job process about 0.6 ms of CPU dearer here (asyncio
    alone, with ssl and the rest it loads, 0.55 ms), for nodes that use none
    of it. The sandbox's view of the standard library is built with all of
    it (`everything=True`)."""
    import linecache  # noqa: F401  (every job sets its source's entry)
    if not everything:
        return
    import encodings.idna  # noqa: F401  (str.encode("idna"), socket name lookups; needs stringprep)
    import importlib
    for name in IMPLICIT_MODULES:
        importlib.import_module(name)
    for name in sorted(PRELOADABLE):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def main(argv: list[str]) -> int:
    usage = ("usage: katalusis_runner.py exec|serve [--sandbox none|bwrap] [--trust restricted|trusted] "
             "[--max-pids N] [--egress-allow CIDR,..] [--egress-deny CIDR,..] [--modules-allow MODULE,..]")
    if not argv or argv[0] not in ("exec", "serve"):
        sys.stderr.write(usage + "\n")
        return 2
    mode = argv[0]
    sandbox, trust, inside, max_pids = "none", None, False, 512
    site_path: list[str] = []   # what site would add to sys.path, for a pool started with -S
    egress_allow: list[str] = []
    egress_deny: list[str] = list(DEFAULT_EGRESS_DENY)
    # The admin's module allow-list for restricted pools: their standard
    # library view holds these modules (the default list when not given).
    modules_allow: list[str] | None = None
    args = argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--sandbox", "--trust", "--max-pids", "--egress-allow", "--egress-deny",
                 "--modules-allow", "--site-path") and i + 1 < len(args):
            v = args[i + 1]
            if a == "--site-path":
                site_path = [p for p in v.split(os.pathsep) if p]
            elif a == "--modules-allow":
                modules_allow = [m.strip() for m in v.split(",") if m.strip()]
                if not all(m.replace("_", "a").replace(".", "a").isalnum() for m in modules_allow):
                    sys.stderr.write(f"{a}: module names are letters, digits, '_' and '.'\n")
                    return 2
            elif a == "--sandbox":
                sandbox = v
            elif a == "--trust":
                trust = v
            elif a in ("--egress-allow", "--egress-deny"):
                import ipaddress
                try:
                    cidrs = [str(ipaddress.ip_network(c.strip(), strict=False)) for c in v.split(",") if c.strip()]
                except ValueError as e:
                    sys.stderr.write(f"{a}: {e}\n")
                    return 2
                (egress_allow if a == "--egress-allow" else egress_deny).extend(cidrs)
            else:
                max_pids = int(v)
            i += 2
        elif a == "--inside-sandbox":
            inside = True
            i += 1
        else:
            sys.stderr.write(f"unknown argument {a!r}\n{usage}\n")
            return 2
    if sandbox not in ("none", "bwrap") or trust not in (None, "restricted", "trusted"):
        sys.stderr.write(usage + "\n")
        return 2
    if sandbox == "bwrap":
        return launch_sandboxed(mode, trust or "restricted", max_pids, egress_allow, egress_deny, modules_allow)
    if inside:
        sys.dont_write_bytecode = True   # the Python installation is read-only in the sandbox
        sys.path.extend(p for p in site_path if p not in sys.path)
        # The builtins site adds (exit, quit, help, copyright, ...): node code
        # may call exit(). Importing site with -S processes no .pth file.
        import site
        site.setquit()
        site.setcopyright()
        site.sethelper()
    if mode == "serve":
        _preimport(everything=False)
        import gc
        gc.collect()
        gc.freeze()   # keep the collector in forked children away from the shared heap
    sup = Supervisor(sys.stdout.buffer, serve=(mode == "serve"), pool_trust=trust, sandboxed=inside)
    return sup.run(sys.stdin.fileno())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
