"""The Pod entrypoint around `exec`: batching, the finished event and the
termination message the operator reads. Runs the real runner; the ingest
HTTP calls are exercised by the API server's tests and the kind e2e script."""

import json
import os
import sys
import tempfile
import textwrap
import time
import unittest

from runner_harness import make_job

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pod_entrypoint  # noqa: E402


def code(src: str) -> str:
    return textwrap.dedent(src).lstrip("\n")


def run(job):
    batches = []
    finished = pod_entrypoint.execute(job, lambda lines, last: batches.append((list(lines), last)))
    return finished, batches


class Execute(unittest.TestCase):
    def test_a_succeeding_node_delivers_every_event_and_ends_with_finished(self):
        job = make_job(code("""
            def run(inputs, params, ctx):
                ctx.log("hello")
                return {"text": inputs["text"].upper()}
        """), inputs={"text": "hi"}, outputs=[{"name": "text", "type": "string"}])
        finished, batches = run(job)
        self.assertEqual(finished["status"], "succeeded")
        self.assertEqual(finished["outputs"], {"text": "HI"})
        self.assertTrue(batches[-1][1], "the last batch is flagged")
        events = [json.loads(line) for lines, _ in batches for line in lines]
        self.assertEqual([e["type"] for e in events][-1], "finished")
        self.assertIn("hello", [e.get("msg") for e in events])
        self.assertEqual(pod_entrypoint.termination_message(finished), {"reason": None, "message": ""})

    def test_a_failing_node_reports_the_runner_reason_and_traceback(self):
        job = make_job(code("""
            def run(inputs, params, ctx):
                raise ValueError("bad input")
        """))
        finished, _ = run(job)
        message = pod_entrypoint.termination_message(finished)
        self.assertEqual(message["reason"], "error")
        self.assertIn("bad input", message["message"])
        self.assertIn("ValueError", message["message"])

    def test_a_wrong_output_type_is_reported_as_output_type(self):
        job = make_job(code("""
            def run(inputs, params, ctx):
                return {"n": "not a number"}
        """), outputs=[{"name": "n", "type": "integer"}])
        finished, _ = run(job)
        self.assertEqual(pod_entrypoint.termination_message(finished)["reason"], "output_type")

    def test_long_runs_are_delivered_in_several_batches(self):
        job = make_job(code("""
            def run(inputs, params, ctx):
                for i in range(200):
                    ctx.log(f"line {i}")
                return {}
        """))
        finished, batches = run(job)
        self.assertEqual(finished["status"], "succeeded")
        self.assertGreater(len(batches), 2)
        self.assertTrue(all(len(lines) <= pod_entrypoint.BATCH_EVENTS for lines, _ in batches))
        msgs = [json.loads(line).get("msg") for lines, _ in batches for line in lines]
        self.assertEqual([m for m in msgs if m and m.startswith("line ")], [f"line {i}" for i in range(200)])

    def test_a_line_before_a_silent_stretch_is_delivered_while_the_node_still_runs(self):
        job = make_job(code("""
            import time
            def run(inputs, params, ctx):
                ctx.log("before the pause")
                time.sleep(4)
                return {}
        """))
        seen = []

        def deliver(lines, last):
            seen.append((time.monotonic(), [json.loads(line).get("msg") for line in lines], last))

        started = time.monotonic()
        finished = pod_entrypoint.execute(job, deliver)
        self.assertEqual(finished["status"], "succeeded")
        first = next(t for t, msgs, _ in seen if "before the pause" in msgs)
        # Delivered after about BATCH_SECONDS, not when the node finished 4 s later.
        self.assertLess(first - started, 3.0)
        self.assertTrue(seen[-1][2], "the last batch is marked last")

    def test_ctx_query_is_relayed_to_the_platform_and_never_stored_as_an_event(self):
        asked = []

        def on_query(event):
            asked.append(event)
            return {"ok": True, "rows": [{"n": event["params"]["x"] * 2}], "columns": ["n"], "row_count": 1}

        job = make_job(code("""
            def run(inputs, params, ctx):
                return {"n": ctx.query("crm", "SELECT :x * 2 AS n", {"x": 21})[0]["n"]}
        """), outputs=[{"name": "n", "type": "integer"}])
        batches = []
        finished = pod_entrypoint.execute(job, lambda lines, last: batches.append(list(lines)),
                                          on_query=on_query)
        self.assertEqual(finished["status"], "succeeded", finished)
        self.assertEqual(finished["outputs"], {"n": 42})
        self.assertEqual([(a["connection"], a["params"]) for a in asked], [("crm", {"x": 21})])
        types = [json.loads(line)["type"] for lines in batches for line in lines]
        self.assertNotIn("query", types)

    def test_a_runner_that_dies_without_finished_is_an_error(self):
        finished = pod_entrypoint.execute(
            make_job("x"), lambda lines, last: None, runner_cmd=[sys.executable, "-c", "pass"])
        self.assertIsNone(finished)
        self.assertEqual(pod_entrypoint.termination_message(None)["reason"], "error")


class Delivery(unittest.TestCase):
    """Events survive an API server that answers 503 for a while (a database outage)."""

    def serve(self, answers):
        import http.server
        import threading

        received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(body)
                status = answers.pop(0) if answers else 204
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)   # cleanups run last first: after shutdown
        self.addCleanup(server.shutdown)
        return f"http://127.0.0.1:{server.server_address[1]}/events", received

    def config(self):
        return pod_entrypoint.Config({
            "KATALUSIS_INGEST_URL": "http://unused", "KATALUSIS_RUN_ID": "1",
            "KATALUSIS_NODE_ID": "n", "KATALUSIS_ATTEMPT": "1", "KATALUSIS_RUN_TOKEN": "t"})

    def test_503_answers_are_retried_until_the_events_are_taken(self):
        url, received = self.serve([503, 503, 503])
        started = time.monotonic()
        pod_entrypoint.request(self.config(), "POST", url, b"line\n", budget=30)
        self.assertEqual(received, [b"line\n"] * 4)
        # Retry-After (1 s) is honoured between the attempts.
        self.assertGreaterEqual(time.monotonic() - started, 2.5)

    def test_a_client_error_is_not_retried_and_the_budget_ends_retries(self):
        import urllib.error

        url, received = self.serve([400])
        with self.assertRaises(urllib.error.HTTPError):
            pod_entrypoint.request(self.config(), "POST", url, b"x", budget=30)
        self.assertEqual(len(received), 1)
        url, received = self.serve([503] * 50)
        with self.assertRaises(urllib.error.HTTPError):
            pod_entrypoint.request(self.config(), "POST", url, b"x", budget=2)
        self.assertLess(len(received), 5)


class Configuration(unittest.TestCase):
    def test_missing_environment_is_named(self):
        with self.assertRaises(ValueError) as ctx:
            pod_entrypoint.Config({"KATALUSIS_INGEST_URL": "http://api/internal"})
        self.assertIn("KATALUSIS_RUN_TOKEN", str(ctx.exception))

    def test_urls_escape_the_node_id_and_carry_the_attempt(self):
        cfg = pod_entrypoint.Config({
            "KATALUSIS_INGEST_URL": "http://api:8080/internal/", "KATALUSIS_RUN_ID": "11",
            "KATALUSIS_NODE_ID": "a/b c", "KATALUSIS_ATTEMPT": "2", "KATALUSIS_RUN_TOKEN": "t\n"})
        self.assertEqual(cfg.url("job"), "http://api:8080/internal/runs/11/nodes/a%2Fb%20c/job?attempt=2")
        self.assertEqual(cfg.token, "t")

    def test_the_termination_log_holds_json(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "termination-log")
            pod_entrypoint.write_termination_log({"reason": "memory", "message": "m"}, path)
            with open(path, encoding="utf-8") as f:
                self.assertEqual(json.load(f), {"reason": "memory", "message": "m"})


if __name__ == "__main__":
    unittest.main()
