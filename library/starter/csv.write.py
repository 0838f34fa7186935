"""Table → CSV file and text."""
import csv
import io
import json

DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def table(value, port):
    if not (isinstance(value, dict) and isinstance(value.get("columns"), list) and isinstance(value.get("rows"), list)):
        raise ValueError(f"Input '{port}' must be a table: {{\"columns\": [...], \"rows\": [[...], ...]}}.")
    columns = [str(c) for c in value["columns"]]
    for i, row in enumerate(value["rows"]):
        if not isinstance(row, list) or len(row) != len(columns):
            raise ValueError(f"Input '{port}': row {i + 1} must be a list of {len(columns)} values.")
    return columns, value["rows"]


def cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def run(inputs, params, ctx):
    columns, rows = table(inputs["table"], "table")
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=DELIMITERS[params.get("delimiter", "comma")], lineterminator="\n")
    if params.get("header", True):
        writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    text = buf.getvalue()
    name = params.get("filename") or "table.csv"
    if "/" in name or "\\" in name or name.startswith("."):
        raise ValueError("The file name must be a plain name such as 'table.csv'.")
    encoding = "utf-8-sig" if params.get("excel_bom", False) else "utf-8"
    return {"file": ctx.write_file(name, text.encode(encoding)), "text": text}
