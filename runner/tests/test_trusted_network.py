"""Trusted nodes under bwrap: the internet yes, the host's services no.

A trusted pool has its own network namespace wired to slirp4netns (host
loopback forwarding off) with "prohibit" routes for private, link-local and
the host's own addresses, no host socket directories and no host Unix
socket files. There is no internet on the test machine, so "allowed" is
proved two ways: a TEST-NET address is routed to the user-mode stack (the
attempt is not refused by the policy, EACCES), and a real connection to a
test server succeeds once its address is put on the allow-list.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import unittest

from runner_harness import PYTHON, RUNNER, RUNNER_DIR, Pool, host_address, make_job, test_env

sys.path.insert(0, RUNNER_DIR)
import katalusis_runner as kr  # noqa: E402

BWRAP = "/usr/bin/bwrap"

PROBE = textwrap.dedent("""
    import errno, socket
    def attempt(family, address):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(1.5)
        try:
            s.connect(address)
            data = s.recv(64).decode(errors="replace") if family == socket.AF_INET else ""
            return "connected " + data
        except socket.timeout:
            return "timeout"
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno))
        finally:
            s.close()
    def run(inputs, params, ctx):
        out = {}
        for host, port in params.get("tcp", []):
            out[f"{host}:{port}"] = attempt(socket.AF_INET, (host, port))
        for path in params.get("unix", []):
            out[path] = attempt(socket.AF_UNIX, path)
        return {"out": out}
""")


def probe(pool: Pool, tcp=(), unix=()) -> dict:
    fin = pool.run(make_job(PROBE, trust="trusted", params={"tcp": list(tcp), "unix": list(unix)},
                            outputs=[{"name": "out", "type": "object"}]), timeout=60)
    assert fin["status"] == "succeeded", fin
    return fin["outputs"]["out"]


class EgressPolicy(unittest.TestCase):
    """The policy as a pure function: the routes the launcher installs."""

    def test_private_link_local_and_cgnat_ranges_are_denied_by_default(self):
        for ip in ("10.1.2.3", "172.20.0.5", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.1",
                   "224.0.0.1"):
            with self.subTest(ip=ip):
                self.assertFalse(kr.is_egress_allowed(ip, (), kr.DEFAULT_EGRESS_DENY))

    def test_public_addresses_are_allowed_by_default(self):
        for ip in ("192.0.2.1", "1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1"):
            with self.subTest(ip=ip):
                self.assertTrue(kr.is_egress_allowed(ip, (), kr.DEFAULT_EGRESS_DENY))

    def test_the_most_specific_entry_wins(self):
        allow, deny = ["10.1.0.0/16"], list(kr.DEFAULT_EGRESS_DENY) + ["10.1.2.0/24", "203.0.113.0/24"]
        self.assertTrue(kr.is_egress_allowed("10.1.9.9", allow, deny))
        self.assertFalse(kr.is_egress_allowed("10.1.2.3", allow, deny))
        self.assertFalse(kr.is_egress_allowed("10.2.0.1", allow, deny))
        self.assertFalse(kr.is_egress_allowed("203.0.113.7", allow, deny))

    def test_an_entry_in_both_lists_is_allowed_and_ipv6_is_left_out(self):
        routes = kr.egress_routes(["10.0.0.0/8"], ["10.0.0.0/8", "fc00::/7"])
        self.assertEqual(routes, [("allow", "10.0.0.0/8")])

    def test_invalid_cidrs_are_rejected_at_startup(self):
        p = subprocess.run([PYTHON, RUNNER, "serve", "--sandbox", "bwrap", "--trust", "trusted",
                            "--egress-allow", "10.0.0.300/8"], input=b"", capture_output=True, env=test_env(),
                           timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--egress-allow", p.stderr)


@unittest.skipUnless(os.access(BWRAP, os.X_OK), "bubblewrap is not installed")
class TrustedNodesCannotReachTheHost(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if kr._missing_network_tools():
            raise unittest.SkipTest(f"missing {kr._missing_network_tools()}")
        # Created before the pool starts, as a host service's would be: one
        # socket in a directory under /run (hidden as a whole), one outside
        # the socket directories (masked as a file).
        cls.run_dir = tempfile.mkdtemp(prefix="katalusis-test-", dir="/run") if os.access("/run", os.W_OK) else None
        cls.other_dir = tempfile.mkdtemp(prefix="katalusis-sock-", dir=os.path.join(RUNNER_DIR, "tests"))
        cls.servers = []
        cls.socket_paths = []
        for d in filter(None, (cls.run_dir, cls.other_dir)):
            path = os.path.join(d, "service.sock")
            srv = socket.socket(socket.AF_UNIX)
            srv.bind(path)
            os.chmod(path, 0o777)
            srv.listen(4)
            srv.setblocking(False)
            cls.servers.append(srv)
            cls.socket_paths.append(path)
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(4)
        tcp.setblocking(False)
        cls.tcp = tcp
        cls.servers.append(tcp)
        cls.pool = Pool("--sandbox", "bwrap", "--trust", "trusted")

    @classmethod
    def tearDownClass(cls):
        cls.pool.close()
        for s in cls.servers:
            s.close()
        for d in filter(None, (cls.run_dir, cls.other_dir)):
            shutil.rmtree(d, ignore_errors=True)

    def assert_nothing_accepted(self):
        for s in self.servers:
            with self.assertRaises(BlockingIOError):
                s.accept()

    def test_host_loopback_port_and_database_are_unreachable(self):
        port = self.tcp.getsockname()[1]
        out = probe(self.pool, tcp=[("127.0.0.1", port), ("127.0.0.1", 3306), ("10.0.2.2", 3306),
                                    ("10.0.2.2", port)])
        for target, result in out.items():
            self.assertFalse(result.startswith("connected"), (target, out))
        self.assert_nothing_accepted()

    def test_private_link_local_and_host_addresses_are_refused_by_policy(self):
        # Refused inside the sandbox by a "prohibit" route: nothing is sent.
        targets = [("10.1.2.3", 80), ("172.17.0.1", 3306), ("192.168.1.1", 80), ("169.254.169.254", 80)]
        me = host_address()
        if me:
            targets.append((me, 3306))
        out = probe(self.pool, tcp=targets)
        for target, result in out.items():
            self.assertEqual(result, "EACCES", (target, out))

    def test_host_unix_sockets_are_not_visible(self):
        out = probe(self.pool, unix=self.socket_paths + ["/run/mysqld/mysqld.sock",
                                                         "/var/run/postgresql/.s.PGSQL.5432"])
        for target, result in out.items():
            self.assertIn(result, ("ENOENT", "ECONNREFUSED", "ENOTSOCK"), (target, out))
        self.assert_nothing_accepted()
        fin = self.pool.run(make_job("import os\ndef run(i, p, c):\n    return {'run': os.listdir('/run')}\n",
                                     trust="trusted", outputs=[{"name": "run", "type": "array"}]))
        self.assertEqual(fin.get("outputs"), {"run": []}, fin)

    def test_public_addresses_are_routed_to_the_user_mode_stack(self):
        # No internet here, and tests send nothing off this machine: a UDP
        # connect() only looks the route up (no packet leaves), which fails
        # with EACCES for a prohibited range and otherwise picks the
        # user-mode stack's address as the source.
        fin = self.pool.run(make_job(textwrap.dedent("""
            import errno, socket
            def run(inputs, params, ctx):
                out = {}
                for ip in ("192.0.2.1", "1.1.1.1", "10.0.0.1", "169.254.169.254"):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    try:
                        s.connect((ip, 53))
                        out[ip] = s.getsockname()[0]
                    except OSError as e:
                        out[ip] = errno.errorcode.get(e.errno, str(e.errno))
                    s.close()
                return {"out": out}
        """), trust="trusted", outputs=[{"name": "out", "type": "object"}]))
        self.assertEqual(fin.get("outputs"), {"out": {"192.0.2.1": "10.0.2.100", "1.1.1.1": "10.0.2.100",
                                                      "10.0.0.1": "EACCES", "169.254.169.254": "EACCES"}}, fin)

    def test_dns_points_at_the_user_mode_stack(self):
        fin = self.pool.run(make_job("def run(i, p, c):\n    return {'r': open('/etc/resolv.conf').read()}\n",
                                     trust="trusted", outputs=[{"name": "r", "type": "string"}]))
        self.assertEqual(fin.get("outputs"), {"r": f"nameserver {kr.SLIRP_DNS}\n"}, fin)


@unittest.skipUnless(os.access(BWRAP, os.X_OK), "bubblewrap is not installed")
class AllowListAndMissingTools(unittest.TestCase):
    def test_an_allowed_address_is_reachable_through_the_user_mode_stack(self):
        if kr._missing_network_tools():
            self.skipTest("slirp4netns, nsenter or ip is missing")
        me = host_address()
        if me is None:
            self.skipTest("the host has no non-loopback IPv4 address")
        srv = socket.socket()
        srv.bind((me, 0))
        srv.listen(4)
        port = srv.getsockname()[1]
        import threading

        def serve():
            conn, _ = srv.accept()
            conn.sendall(b"hello")
            conn.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        pool = Pool("--sandbox", "bwrap", "--trust", "trusted", "--egress-allow", f"{me}/32")
        try:
            out = probe(pool, tcp=[(me, port)])
            self.assertEqual(out[f"{me}:{port}"], "connected hello", out)
        finally:
            pool.close()
            srv.close()

    def test_a_trusted_pool_without_slirp4netns_refuses_to_start(self):
        env = test_env(KATALUSIS_RUNNER_SLIRP4NETNS="/nonexistent/slirp4netns")
        p = subprocess.run([PYTHON, RUNNER, "serve", "--sandbox", "bwrap", "--trust", "trusted"], input=b"",
                           capture_output=True, env=env, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, b"")
        err = json.loads(p.stderr.decode().strip().splitlines()[-1])
        self.assertEqual(err["type"], "fatal")
        self.assertIn("own network namespace", err["message"])
        self.assertIn("slirp4netns", err["message"])

    def test_a_network_setup_failure_stops_the_sandbox_before_node_code_runs(self):
        env = test_env(KATALUSIS_RUNNER_IP="/bin/false")
        p = subprocess.run([PYTHON, RUNNER, "serve", "--sandbox", "bwrap", "--trust", "trusted"], input=b"",
                           capture_output=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, b"")
        err = json.loads(p.stderr.decode().strip().splitlines()[-1])
        self.assertIn("network could not be set up", err["message"])


if __name__ == "__main__":
    unittest.main()
