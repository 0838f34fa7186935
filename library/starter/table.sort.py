"""Sort a table by one or more columns."""


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


def sort_key(value, descending, fold):
    # Missing values go last in both directions; numbers before text.
    if value is None:
        return (0 if descending else 1, 0, 0)
    if isinstance(value, (int, float)):
        return (1 if descending else 0, 0, value)
    text = str(value)
    return (1 if descending else 0, 1, text.casefold() if fold else text)


def run(inputs, params, ctx):
    columns, rows = table(inputs["table"], "table")
    keys = names(params.get("by"))
    if not keys:
        raise ValueError("Name at least one column to sort by, e.g. 'country, -amount'.")
    fold = not params.get("case_sensitive", False)
    rows = list(rows)
    # Stable sorts from the last key to the first give a multi-key sort.
    for key in reversed(keys):
        descending = key.startswith("-")
        i = index_of(columns, key.lstrip("-+").strip())
        rows.sort(key=lambda r: sort_key(r[i], descending, fold), reverse=descending)
    return {"table": {"columns": columns, "rows": rows}}
