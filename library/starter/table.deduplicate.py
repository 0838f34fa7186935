"""Drop repeated rows (all columns or the key columns)."""
import json


def table(value, port):
    if not (isinstance(value, dict) and isinstance(value.get("columns"), list) and isinstance(value.get("rows"), list)):
        raise ValueError(f"Input '{port}' must be a table: {{\"columns\": [...], \"rows\": [[...], ...]}}.")
    columns = [str(c) for c in value["columns"]]
    for i, row in enumerate(value["rows"]):
        if not isinstance(row, list) or len(row) != len(columns):
            raise ValueError(f"Input '{port}': row {i + 1} must be a list of {len(columns)} values.")
    return columns, value["rows"]


def names(text):
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def index_of(columns, name, port="table"):
    if name not in columns:
        raise ValueError(f"Unknown column '{name}' in '{port}' (columns: {', '.join(columns)}).")
    return columns.index(name)


def run(inputs, params, ctx):
    columns, rows = table(inputs["table"], "table")
    keys = names(params.get("columns"))
    idx = [index_of(columns, k) for k in keys] or list(range(len(columns)))
    fold = params.get("ignore_case", False)

    def key(row):
        # 1 and 1.0 are the same value.
        values = [int(v) if isinstance(v, float) and v.is_integer() else v for v in (row[i] for i in idx)]
        if fold:
            values = [v.casefold() if isinstance(v, str) else v for v in values]
        return json.dumps(values, sort_keys=True, default=str)

    ordered = rows if params.get("keep", "first") == "first" else list(reversed(rows))
    seen, kept = set(), []
    for row in ordered:
        k = key(row)
        if k not in seen:
            seen.add(k)
            kept.append(row)
    if params.get("keep", "first") == "last":
        kept.reverse()
    return {"table": {"columns": columns, "rows": kept}, "removed": len(rows) - len(kept)}
