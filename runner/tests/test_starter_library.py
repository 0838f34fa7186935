"""The starter node library (library/starter/) through the real runner.

Every template is loaded from the library data the API server embeds, turned
into a job the way the executor does it (port and parameter defaults, the
template's limits and trust level) and run in a `serve` pool under
bubblewrap: restricted templates in a restricted pool, trusted ones in a
trusted pool. Inputs are real files and tables; outputs are checked exactly.
"""

import base64
import glob
import http.server
import json
import os
import threading
import unittest

from runner_harness import REPO_DIR, Pool, host_address, make_job

LIBRARY_DIR = os.path.join(REPO_DIR, "library", "starter")
BWRAP = "/usr/bin/bwrap"
POOLS: dict[str, Pool] = {}


def load_library() -> dict[str, dict]:
    """name -> template spec (the manifest plus its code), as the server builds it."""
    out = {}
    for path in sorted(glob.glob(os.path.join(LIBRARY_DIR, "*.json"))):
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        with open(path[: -len(".json")] + ".py", encoding="utf-8") as f:
            spec["code"] = f.read()
        out[spec["name"]] = spec
    return out


LIBRARY = load_library()


def setUpModule():
    if not os.access(BWRAP, os.X_OK):
        raise unittest.SkipTest("bubblewrap is not installed")
    POOLS["restricted"] = Pool("--sandbox", "bwrap", "--trust", "restricted")
    # Trusted nodes may not reach the host's loopback or private addresses;
    # the HTTP test server listens on this machine's address, allow-listed.
    me = host_address()
    POOLS["trusted"] = Pool("--sandbox", "bwrap", "--trust", "trusted",
                            *(["--egress-allow", f"{me}/32"] if me else []))


def tearDownModule():
    for pool in POOLS.values():
        pool.close()


def file_value(name: str, data: bytes) -> dict:
    return {"$file": {"name": name, "b64": base64.b64encode(data).decode()}}


def job_for(name: str, inputs: dict | None = None, params: dict | None = None) -> dict:
    """The job line the executor would build for one node of this template."""
    spec = LIBRARY[name]
    job_inputs = {p["name"]: p["default"] for p in spec.get("inputs", []) if "default" in p}
    job_inputs.update(inputs or {})
    job_params = {p["name"]: p["default"] for p in spec.get("parameters", []) if "default" in p}
    job_params.update(params or {})
    limits = spec.get("limits", {"timeoutSeconds": 300, "memoryMib": 512, "cpuMillicores": 1000})
    return make_job(
        spec["code"],
        mode=spec.get("executionMode", "sync"),
        trust=spec.get("trustLevel", "restricted"),
        inputs=job_inputs,
        params=job_params,
        secret_params=[p["name"] for p in spec.get("parameters", []) if p["kind"] == "secret"],
        outputs=[{"name": p["name"], "type": p["type"], "required": p.get("required", False)}
                 for p in spec.get("outputs", [])],
        limits={"timeout_seconds": limits["timeoutSeconds"], "memory_mib": limits["memoryMib"],
                "cpu_seconds": max(1, limits["timeoutSeconds"] * limits["cpuMillicores"] // 1000)},
    )


def run_node(name: str, inputs: dict | None = None, params: dict | None = None) -> dict:
    job = job_for(name, inputs, params)
    return POOLS[job["trust"]].run(job, timeout=60)


class StarterCase(unittest.TestCase):
    def ok(self, name, inputs=None, params=None) -> dict:
        fin = run_node(name, inputs, params)
        self.assertEqual(fin["status"], "succeeded", fin.get("message", "") + "\n" + fin.get("traceback", ""))
        return fin["outputs"]

    def fails(self, name, fragment, inputs=None, params=None) -> dict:
        fin = run_node(name, inputs, params)
        self.assertEqual(fin["status"], "failed", fin)
        self.assertEqual(fin["reason"], "error", fin)
        self.assertIn(fragment, fin["message"])
        return fin


SALES = {"columns": ["region", "product", "amount"],
         "rows": [["north", "apples", 10], ["south", "pears", 5], ["north", "pears", 7.5],
                  ["east", "apples", None], ["south", "apples", 20]]}


class TheLibraryData(unittest.TestCase):
    def test_every_template_has_a_manifest_and_code_and_a_description(self):
        names = {os.path.basename(p)[: -len(".json")] for p in glob.glob(os.path.join(LIBRARY_DIR, "*.json"))}
        codes = {os.path.basename(p)[: -len(".py")] for p in glob.glob(os.path.join(LIBRARY_DIR, "*.py"))}
        self.assertEqual(names, codes)
        self.assertGreaterEqual(len(names), 18)
        for name, spec in LIBRARY.items():
            self.assertEqual(name, os.path.basename(name), name)
            self.assertTrue(spec["description"].strip(), name)
            self.assertIn("def run(inputs, params, ctx)", spec["code"], name)
            self.assertIn("limits", spec, name)
            self.assertTrue(spec["outputs"], name)

    def test_only_the_http_request_is_trusted(self):
        trusted = sorted(n for n, s in LIBRARY.items() if s.get("trustLevel", "restricted") == "trusted")
        self.assertEqual(trusted, ["http.request"])

    def test_nodes_use_only_the_standard_library_and_never_eval(self):
        for name, spec in LIBRARY.items():
            self.assertNotIn("eval(", spec["code"].replace("evaluate(", ""), name)
        self.assertNotIn("exec(", "".join(s["code"] for n, s in LIBRARY.items() if n != "python.snippet"))


class CsvRead(StarterCase):
    def read(self, data: bytes, **params):
        return self.ok("csv.read", {"file": file_value("in.csv", data)}, params)

    def test_utf8_with_bom_and_semicolons_and_decimal_commas(self):
        out = self.read("\ufeffName;Preis;PLZ\nMüller;3,5;01067\nÖztürk;12;10115\n".encode("utf-8"), decimal=",")
        self.assertEqual(out["encoding"], "utf-8-sig")
        self.assertEqual(out["delimiter"], ";")
        self.assertEqual(out["table"], {"columns": ["Name", "Preis", "PLZ"],
                                        "rows": [["Müller", 3.5, "01067"], ["Öztürk", 12, 10115]]})
        self.assertEqual(out["row_count"], 2)

    def test_utf16_with_bom_and_tabs(self):
        out = self.read("a\tb\n1\tx y\n".encode("utf-16"))
        self.assertEqual((out["encoding"], out["delimiter"]), ("utf-16", "\t"))
        self.assertEqual(out["table"]["rows"], [[1, "x y"]])

    def test_cp1252_falls_back_and_pipes_are_sniffed(self):
        out = self.read("city|note\nKöln|5 €\n".encode("cp1252"))
        self.assertEqual((out["encoding"], out["delimiter"]), ("cp1252", "|"))
        self.assertEqual(out["table"]["rows"], [["Köln", "5 €"]])

    def test_latin1_is_the_last_resort(self):
        out = self.read(b"a,b\n\x81x,\xe9\n")
        self.assertEqual(out["encoding"], "latin-1")
        self.assertEqual(out["table"]["rows"], [["\x81x", "é"]])

    def test_quoted_commas_duplicate_headers_and_short_rows(self):
        out = self.ok("csv.read", {"text": 'id,name,name,\n1,"Doe, Jane",x\n2,"say ""hi""",y,\n'})
        self.assertEqual(out["delimiter"], ",")
        self.assertEqual(out["table"]["columns"], ["id", "name", "name_2", "column_4"])
        self.assertEqual(out["table"]["rows"], [[1, "Doe, Jane", "x", None], [2, 'say "hi"', "y", None]])

    def test_types_stay_text_when_inference_is_off(self):
        out = self.ok("csv.read", {"text": "n\n1\n"}, {"infer_types": False, "header": False})
        self.assertEqual(out["table"], {"columns": ["column_1"], "rows": [["n"], ["1"]]})

    def test_a_row_with_more_fields_than_the_header_fails_clearly(self):
        self.fails("csv.read", "Record 3 has 3 fields but the header has 2",
                   {"text": "a,b\n1,2\n3,4,5\n"}, {"delimiter": "comma"})

    def test_a_forced_wrong_encoding_fails_clearly(self):
        self.fails("csv.read", "not valid utf-8", {"file": file_value("x.csv", "é".encode("cp1252"))},
                   {"encoding": "utf-8"})

    def test_no_input_fails_clearly(self):
        self.fails("csv.read", "either as the 'file' input or as the 'text' input")


class CsvWrite(StarterCase):
    def test_a_table_becomes_a_csv_file_and_text(self):
        table = {"columns": ["a", "b;c"], "rows": [[1, None], [True, "x;y"], [{"k": 1}, 2.5]]}
        out = self.ok("csv.write", {"table": table}, {"delimiter": "semicolon", "excel_bom": True})
        self.assertEqual(out["text"], 'a;"b;c"\n1;\ntrue;"x;y"\n"{""k"": 1}";2.5\n')
        self.assertEqual(out["file"]["$file"]["name"], "table.csv")
        self.assertEqual(base64.b64decode(out["file"]["$file"]["b64"]), b"\xef\xbb\xbf" + out["text"].encode())

    def test_round_trip_through_csv_read(self):
        text = self.ok("csv.write", {"table": SALES})["text"]
        back = self.ok("csv.read", {"text": text})["table"]
        self.assertEqual(back, SALES)

    def test_a_malformed_table_fails_clearly(self):
        self.fails("csv.write", "row 1 must be a list of 2 values", {"table": {"columns": ["a", "b"], "rows": [[1]]}})
        self.fails("csv.write", "must be a table", {"table": {"rows": []}})


class TableFilter(StarterCase):
    def test_expressions_with_functions_and_missing_values(self):
        out = self.ok("table.filter", {"table": SALES},
                      {"expression": 'amount >= 7.5 and region in ("north", "south") and not contains(product, "x")'})
        self.assertEqual([r[2] for r in out["table"]["rows"]], [10, 7.5, 20])
        out = self.ok("table.filter", {"table": SALES}, {"expression": 'upper(region) == "EAST" or amount * 2 < 11'})
        self.assertEqual(out["table"]["rows"], [SALES["rows"][1], SALES["rows"][3]])
        self.assertEqual(out["row_count"], 2)
        out = self.ok("table.filter", {"table": SALES}, {"expression": "amount is None"})
        self.assertEqual(out["row_count"], 1)

    def test_col_reaches_names_with_spaces(self):
        table = {"columns": ["Unit price"], "rows": [[1], [3]]}
        out = self.ok("table.filter", {"table": table}, {"expression": 'col("Unit price") > 2'})
        self.assertEqual(out["table"]["rows"], [[3]])

    def test_code_is_refused_before_it_runs(self):
        for expr, fragment in [
            ("__import__('os').system('id')", "only the functions"),
            ("region.__class__", "Attribute is not allowed"),
            ("[x for x in region]", "ListComp is not allowed"),
            ("(lambda: 1)()", "only the functions"),
            ("amount ** 99999999", "BinOp is not allowed"),
            ("region[0] == 'n'", "Subscript is not allowed"),
        ]:
            with self.subTest(expr=expr):
                self.fails("table.filter", fragment, {"table": SALES}, {"expression": expr})

    def test_unknown_columns_and_syntax_errors_are_explained(self):
        self.fails("table.filter", "unknown column 'price' (columns: region, product, amount)",
                   {"table": SALES}, {"expression": "price > 1"})
        self.fails("table.filter", "is not valid", {"table": SALES}, {"expression": "amount >"})
        self.fails("table.filter", "Row 1: the expression cannot be evaluated", {"table": SALES},
                   {"expression": "region > 1"})
        self.fails("table.filter", "text cannot be multiplied", {"table": SALES},
                   {"expression": "len(region * 999999999) > 1"})


class TableSort(StarterCase):
    def test_multi_key_sort_with_descending_and_missing_values_last(self):
        out = self.ok("table.sort", {"table": SALES}, {"by": "product, -amount"})
        self.assertEqual([r[2] for r in out["table"]["rows"]], [20, 10, None, 7.5, 5])
        out = self.ok("table.sort", {"table": SALES}, {"by": "amount"})
        self.assertEqual([r[2] for r in out["table"]["rows"]], [5, 7.5, 10, 20, None])

    def test_case_insensitive_by_default(self):
        table = {"columns": ["n"], "rows": [["b"], ["B"], ["a"]]}
        self.assertEqual(self.ok("table.sort", {"table": table}, {"by": "n"})["table"]["rows"], [["a"], ["b"], ["B"]])
        out = self.ok("table.sort", {"table": table}, {"by": "n", "case_sensitive": True})
        self.assertEqual(out["table"]["rows"], [["B"], ["a"], ["b"]])

    def test_unknown_column_fails(self):
        self.fails("table.sort", "Unknown column 'price'", {"table": SALES}, {"by": "price"})


class TableAggregate(StarterCase):
    def test_group_and_aggregate(self):
        out = self.ok("table.aggregate", {"table": SALES}, {
            "group_by": "region",
            "aggregations": "n = count()\ntotal = sum(amount), avg = mean(amount)\nmin(amount), max(amount), count(amount)"})
        self.assertEqual(out["table"]["columns"],
                         ["region", "n", "total", "avg", "min_amount", "max_amount", "count_amount"])
        self.assertEqual(out["table"]["rows"], [["north", 2, 17.5, 8.75, 7.5, 10, 2],
                                                ["south", 2, 25, 12.5, 5, 20, 2],
                                                ["east", 1, 0, None, None, None, 0]])
        self.assertEqual(out["group_count"], 3)

    def test_without_grouping_the_table_is_one_group(self):
        out = self.ok("table.aggregate", {"table": SALES}, {"aggregations": "count(), sum(amount)"})
        self.assertEqual(out["table"], {"columns": ["count", "sum_amount"], "rows": [[5, 42.5]]})

    def test_bad_specs_and_text_values_fail_clearly(self):
        self.fails("table.aggregate", "Cannot read the aggregation 'median(amount)'",
                   {"table": SALES}, {"aggregations": "median(amount)"})
        self.fails("table.aggregate", "sum(product): 'apples' is not a number",
                   {"table": SALES}, {"aggregations": "sum(product)"})


class TableJoin(StarterCase):
    LEFT = {"columns": ["id", "name"], "rows": [[1, "Ann"], [2, "Bob"], [3, "Cy"]]}
    RIGHT = {"columns": ["customer", "name", "total"], "rows": [[1, "a1", 10], [1, "a2", 5], [4, "d", 1]]}

    def test_join_types(self):
        params = {"left_on": "id", "right_on": "customer"}
        inputs = {"left": self.LEFT, "right": self.RIGHT}
        inner = self.ok("table.join", inputs, params)["table"]
        self.assertEqual(inner["columns"], ["id", "name", "name_right", "total"])
        self.assertEqual(inner["rows"], [[1, "Ann", "a1", 10], [1, "Ann", "a2", 5]])
        left = self.ok("table.join", inputs, {**params, "how": "left"})["table"]["rows"]
        self.assertEqual(left[2:], [[2, "Bob", None, None], [3, "Cy", None, None]])
        outer = self.ok("table.join", inputs, {**params, "how": "outer"})
        self.assertEqual(outer["row_count"], 5)
        self.assertEqual(outer["table"]["rows"][-1], [4, None, "d", 1])
        right = self.ok("table.join", inputs, {**params, "how": "right"})["table"]["rows"]
        self.assertEqual(right, [[1, "Ann", "a1", 10], [1, "Ann", "a2", 5], [4, None, "d", 1]])

    def test_missing_keys_fail_clearly(self):
        self.fails("table.join", "Unknown column 'customer' in 'left'",
                   {"left": self.LEFT, "right": self.RIGHT}, {"left_on": "customer"})


class TableSelect(StarterCase):
    def test_pick_reorder_and_rename(self):
        out = self.ok("table.select", {"table": SALES}, {"columns": "amount as total, region"})
        self.assertEqual(out["table"]["columns"], ["total", "region"])
        self.assertEqual(out["table"]["rows"][0], [10, "north"])
        out = self.ok("table.select", {"table": SALES}, {"columns": "product -> item", "keep_others": True})
        self.assertEqual(out["table"]["columns"], ["item", "region", "amount"])

    def test_missing_columns_fail_or_are_skipped(self):
        self.fails("table.select", "Unknown column 'price'", {"table": SALES}, {"columns": "price"})
        out = self.ok("table.select", {"table": SALES}, {"columns": "price, region", "missing": "skip"})
        self.assertEqual(out["table"]["columns"], ["region"])
        self.fails("table.select", "duplicate column names: region", {"table": SALES},
                   {"columns": "region, product as region"})


class TableDeduplicate(StarterCase):
    def test_whole_rows_and_key_columns(self):
        table = {"columns": ["k", "v"], "rows": [["a", 1], ["A", 1.0], ["a", 1], ["b", 2], ["a", 3]]}
        out = self.ok("table.deduplicate", {"table": table})
        self.assertEqual(out["table"]["rows"], [["a", 1], ["A", 1.0], ["b", 2], ["a", 3]])
        self.assertEqual(out["removed"], 1)
        out = self.ok("table.deduplicate", {"table": table}, {"columns": "k", "keep": "last", "ignore_case": True})
        self.assertEqual(out["table"]["rows"], [["b", 2], ["a", 3]])
        self.assertEqual(out["removed"], 3)

    def test_unknown_key_column_fails(self):
        self.fails("table.deduplicate", "Unknown column 'x'", {"table": SALES}, {"columns": "x"})


class JsonExtract(StarterCase):
    DOC = {"orders": [{"id": 1, "total": 9.5, "tags": ["a"]}, {"id": 2, "total": 3, "the key": True}]}

    def test_paths(self):
        cases = [("$.orders[0].total", "first", 9.5), ("orders[-1]['the key']", "first", True),
                 ("$.orders[*].id", "all", [1, 2]), ("$.orders.*.tags[0]", "all", ["a"]), ("$", "first", self.DOC)]
        for path, mode, want in cases:
            with self.subTest(path=path):
                out = self.ok("json.extract", {"data": self.DOC}, {"path": path, "mode": mode})
                self.assertEqual(out["value"], want)

    def test_no_match_fails_or_gives_null(self):
        self.fails("json.extract", "Nothing matches the path $.orders[5]", {"data": self.DOC}, {"path": "$.orders[5]"})
        out = self.ok("json.extract", {"data": self.DOC}, {"path": "$.nope", "missing": "null"})
        self.assertEqual((out["value"], out["count"]), (None, 0))
        self.fails("json.extract", "Cannot read the path at '[x]'", {"data": self.DOC}, {"path": "$.orders[x]"})


class TextTemplate(StarterCase):
    def test_values_and_rows(self):
        out = self.ok("text.template", {"values": {"name": "Ann", "address": {"city": "Graz"}, "items": [4, 5]}},
                      {"template": "Hi {{name}} from {{ address.city }}: {{ items.1 }}"})
        self.assertEqual(out["text"], "Hi Ann from Graz: 5")
        out = self.ok("text.template", {"table": SALES, "values": {"unit": "kg"}},
                      {"template": "{{region}}: {{amount}} {{unit}}", "separator": "; "})
        self.assertEqual(out["parts"][0], "north: 10 kg")
        self.assertEqual(out["text"].split("; ")[3], "east:  kg")

    def test_missing_values(self):
        self.fails("text.template", "uses {{ who }} but there is no such value", {"values": {"name": "x"}},
                   {"template": "{{ who }}"})
        out = self.ok("text.template", {"values": {}}, {"template": "a{{ who }}b", "missing": "keep"})
        self.assertEqual(out["text"], "a{{ who }}b")


class TextRegex(StarterCase):
    def test_named_groups_become_columns(self):
        out = self.ok("text.regex", {"text": "Paid 2024-03-05 and 2024-04-01."},
                      {"pattern": r"(?P<year>\d{4})-(?P<month>\d\d)-(\d\d)"})
        self.assertEqual(out["table"], {"columns": ["match", "year", "month", "group_3"],
                                        "rows": [["2024-03-05", "2024", "03", "05"], ["2024-04-01", "2024", "04", "01"]]})
        self.assertEqual((out["first"], out["count"]), ("2024-03-05", 2))
        out = self.ok("text.regex", {"text": "A a"}, {"pattern": "a", "flags": ["ignore_case"], "mode": "first"})
        self.assertEqual(out["count"], 1)

    def test_bad_patterns_and_required_matches_fail(self):
        self.fails("text.regex", "not a valid regular expression", {"text": "x"}, {"pattern": "(unclosed"})
        self.fails("text.regex", "does not match", {"text": "x"}, {"pattern": "y", "require_match": True})


class TextSplitAndJoin(StarterCase):
    def test_split_lines_separators_and_regex(self):
        self.assertEqual(self.ok("text.split", {"text": "a\n\n b \r\nc"})["parts"], ["a", "b", "c"])
        self.assertEqual(self.ok("text.split", {"text": "a, b,,c"}, {"separator": ","})["parts"], ["a", "b", "c"])
        out = self.ok("text.split", {"text": "a1b22c"}, {"separator": r"\d+", "regex": True})
        self.assertEqual((out["parts"], out["count"]), (["a", "b", "c"], 3))
        self.fails("text.split", "not a valid regular expression", {"text": "x"}, {"separator": "(", "regex": True})

    def test_join(self):
        out = self.ok("text.join", {"parts": ["a", 1, None, {"k": True}, " "]},
                      {"separator": ", ", "prefix": "[", "suffix": "]"})
        self.assertEqual(out["text"], '[a, 1, {"k": true}]')
        self.assertEqual(self.ok("text.join", {"parts": ["x", "y"]})["text"], "x\ny")


class DatetimeConvert(StarterCase):
    def test_values_are_parsed_and_converted_between_zones(self):
        cases = [
            ("2024-07-01T12:00:00Z", {"output_timezone": "Europe/Berlin"}, "2024-07-01T14:00:00+02:00"),
            ("31.12.2024 23:30", {"input_timezone": "Europe/Vienna", "output_format": "%Y-%m-%d %H:%M %Z"},
             "2024-12-31 22:30 UTC"),
            (1700000000, {"output_format": "date"}, "2023-11-14"),
            ("05/03/2024", {"input_format": "%d/%m/%Y", "output_format": "unix"}, 1709596800),
            ("2024-01-01 00:00", {"input_timezone": "-05:00"}, "2024-01-01T05:00:00+00:00"),
        ]
        for value, params, want in cases:
            with self.subTest(value=value):
                self.assertEqual(self.ok("datetime.convert", {"value": value}, params)["value"], want)

    def test_a_table_column_into_a_new_column(self):
        table = {"columns": ["when"], "rows": [["2024-03-10T10:00:00+00:00"], [None]]}
        out = self.ok("datetime.convert", {"table": table},
                      {"column": "when", "new_column": "local", "output_timezone": "America/New_York"})
        self.assertEqual(out["table"], {"columns": ["when", "local"],
                                        "rows": [["2024-03-10T10:00:00+00:00", "2024-03-10T06:00:00-04:00"],
                                                 [None, None]]})

    def test_unreadable_values_and_zones_fail_clearly(self):
        self.fails("datetime.convert", "Input 'value': cannot convert 'soon'", {"value": "soon"})
        self.assertIsNone(self.ok("datetime.convert", {"value": "soon"}, {"on_error": "null"})["value"])
        self.fails("datetime.convert", "Unknown output time zone 'Mars/Base'", {"value": "2024-01-01"},
                   {"output_timezone": "Mars/Base"})


class NumberFormat(StarterCase):
    def test_value_formats(self):
        cases = [
            (1234567.891, {"thousands": "comma"}, "1,234,567.89"),
            (2.675, {}, "2.68"),
            ("-1234.5", {"thousands": "dot", "decimal_separator": "comma", "prefix": "€ "}, "€ -1.234,50"),
            (0.1234, {"percent": True, "decimals": 1}, "12.3%"),
            (999.5, {"decimals": 0, "suffix": " pcs"}, "1000 pcs"),
        ]
        for value, params, want in cases:
            with self.subTest(value=value, params=params):
                self.assertEqual(self.ok("number.format", {"value": value}, params)["value"], want)

    def test_table_columns_and_bad_values(self):
        out = self.ok("number.format", {"table": SALES}, {"columns": "amount", "decimals": 1})
        self.assertEqual([r[2] for r in out["table"]["rows"]], ["10.0", "5.0", "7.5", None, "20.0"])
        self.fails("number.format", "Row 1, column 'region': cannot format 'north'", {"table": SALES},
                   {"columns": "region"})
        self.fails("number.format", "both '.'", {"value": 1}, {"thousands": "dot"})


class ChartSvg(StarterCase):
    def test_bar_and_line_charts_are_svg_files(self):
        table = {"columns": ["month", "sales", "cost"],
                 "rows": [["Jan <1>", 120, 80], ["Feb", -30, 40.5], ["Mar", 300, None]]}
        for kind in ("bar", "line"):
            with self.subTest(kind=kind):
                out = self.ok("chart.svg", {"table": table}, {"kind": kind, "x": "month", "title": "Q1 & more"})
                svg = base64.b64decode(out["chart"]["$file"]["b64"]).decode()
                self.assertEqual(svg, out["svg"])
                self.assertEqual(out["chart"]["$file"]["name"], "chart.svg")
                self.assertTrue(svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"'))
                self.assertIn("Jan &lt;1&gt;", svg)
                self.assertIn("Q1 &amp; more", svg)
                self.assertIn("<polyline" if kind == "line" else "<rect x=", svg)
                self.assertIn(">cost</text>", svg)  # legend with two series
                import xml.dom.minidom
                xml.dom.minidom.parseString(svg)  # well-formed

    def test_bad_columns_fail_clearly(self):
        self.fails("chart.svg", "Unknown x column 'day'", {"table": SALES}, {"x": "day"})
        self.fails("chart.svg", "'apples' is not a number", {"table": SALES}, {"x": "region", "y": "product"})


class HttpRequest(StarterCase):
    @classmethod
    def setUpClass(cls):
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body, ctype="application/json"):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.startswith("/missing"):
                    return self.answer(404, '{"error": "nope"}')
                if self.path.startswith("/text"):
                    return self.answer(200, "plain words", "text/plain; charset=utf-8")
                self.answer(200, json.dumps({"path": self.path, "auth": self.headers.get("Authorization"),
                                             "x": self.headers.get("X-Trace")}))

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self.answer(201, json.dumps({"got": json.loads(body), "type": self.headers["Content-Type"]}))

        me = host_address()
        if me is None:
            raise unittest.SkipTest("no non-loopback address for the test server")
        cls.server = http.server.ThreadingHTTPServer((me, 0), Handler)
        cls.base = f"http://{me}:{cls.server.server_address[1]}"
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_get_with_query_headers_and_a_secret_token(self):
        job = job_for("http.request", {"query": {"q": "a b", "n": 2}},
                      {"url": f"{self.base}/items", "headers": "X-Trace: t1", "bearer_token": "s3cret-token"})
        fin = POOLS["trusted"].run(job, timeout=60)
        self.assertEqual(fin["status"], "succeeded", fin)
        out = fin["outputs"]
        self.assertEqual(out["status"], 200)
        self.assertEqual(out["body"], {"path": "/items?q=a+b&n=2", "auth": "Bearer s3cret-token", "x": "t1"})
        self.assertEqual(out["headers"]["content-type"], "application/json")
        logs = " ".join(e["msg"] for e in POOLS["trusted"].logs(job["job"]))
        self.assertIn(f"GET {self.base}/items", logs)
        self.assertNotIn("s3cret", logs)

    def test_post_json_and_plain_text(self):
        out = self.ok("http.request", {"body": {"a": [1, 2]}}, {"url": f"{self.base}/new", "method": "POST"})
        self.assertEqual(out["status"], 201)
        self.assertEqual(out["body"], {"got": {"a": [1, 2]}, "type": "application/json"})
        out = self.ok("http.request", params={"url": f"{self.base}/text"})
        self.assertEqual((out["body"], out["text"]), ("plain words", "plain words"))

    def test_error_statuses_fail_unless_allowed(self):
        self.fails("http.request", "answered 404", params={"url": f"{self.base}/missing"})
        out = self.ok("http.request", params={"url": f"{self.base}/missing", "fail_on_error": False})
        self.assertEqual((out["status"], out["body"]), (404, {"error": "nope"}))

    def test_bad_urls_and_unreachable_servers_fail_clearly(self):
        self.fails("http.request", "must start with http:// or https://", params={"url": "file:///etc/passwd"})
        self.fails("http.request", "failed", params={"url": "http://127.0.0.1:1/"})


class PythonSnippet(StarterCase):
    def test_the_snippet_sees_data_and_sets_result(self):
        code = "import statistics\nctx.log('hi')\nresult = {'mean': statistics.fmean(data), 'n': len(data)}\n"
        self.assertEqual(self.ok("python.snippet", {"data": [1, 2, 6]}, {"code": code})["result"], {"mean": 3, "n": 3})

    def test_the_snippet_is_sandboxed_like_the_node(self):
        fin = run_node("python.snippet", {"data": None}, {"code": "import socket\nresult = 1\n"})
        self.assertEqual((fin["status"], fin["reason"]), ("failed", "sandbox"), fin)
        fin = run_node("python.snippet", {"data": None}, {"code": "result = open('/etc/passwd').read()\n"})
        self.assertEqual(fin["status"], "failed", fin)
        self.assertIn(fin["reason"], ("sandbox", "error"), fin)

    def test_errors_point_at_the_snippet(self):
        fin = self.fails("python.snippet", "division by zero", {"data": 1}, {"code": "x = 1\nresult = data / 0\n"})
        self.assertIn('File "<snippet>", line 2', fin["traceback"])


if __name__ == "__main__":
    unittest.main()
