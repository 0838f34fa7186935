"""Group rows and aggregate: count, sum, mean, min, max."""
import re
import statistics

SPEC = re.compile(r"(?:([A-Za-z_][\w ]*?)\s*=\s*)?(count|sum|mean|min|max)\s*\(\s*([^)]*?)\s*\)", re.IGNORECASE)


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


def parse_aggregations(text, columns):
    specs = []
    for part in re.split(r"[\n;]+|,(?![^(]*\))", text or ""):
        part = part.strip()
        if not part:
            continue
        m = SPEC.fullmatch(part)
        if not m:
            raise ValueError(f"Cannot read the aggregation '{part}': write e.g. 'total = sum(amount)' or 'count()'.")
        alias, func, column = m.group(1), m.group(2).lower(), m.group(3).strip().strip("\"'")
        if column in ("", "*"):
            if func != "count":
                raise ValueError(f"{func}() needs a column, e.g. {func}(amount).")
            column = None
        else:
            index_of(columns, column)
        specs.append(((alias or "").strip() or (f"{func}_{column}" if column else "count"), func, column))
    if not specs:
        raise ValueError("Give at least one aggregation, e.g. 'count()' or 'total = sum(amount)'.")
    return specs


def numbers(values, func, column):
    out = []
    for v in values:
        if v is None or v == "":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"{func}({column}): '{v}' is not a number.") from None
        out.append(v)
    return out


def aggregate(func, values, column):
    if func == "count":
        return len(values) if column is None else sum(1 for v in values if v is not None)
    if func in ("min", "max"):
        present = [v for v in values if v is not None]
        if not present:
            return None
        try:
            return min(present) if func == "min" else max(present)
        except TypeError:
            raise ValueError(f"{func}({column}): the column mixes numbers and text.") from None
    nums = numbers(values, func, column)
    if func == "sum":
        return sum(nums)
    return statistics.fmean(nums) if nums else None


def run(inputs, params, ctx):
    columns, rows = table(inputs["table"], "table")
    keys = names(params.get("group_by"))
    key_idx = [index_of(columns, k) for k in keys]
    specs = parse_aggregations(params.get("aggregations"), columns)
    groups = {}
    for row in rows:
        key = tuple(row[i] for i in key_idx)
        groups.setdefault(repr(key), (key, []))[1].append(row)
    out = []
    for key, members in groups.values():
        values = list(key)
        for _, func, column in specs:
            col = [r[columns.index(column)] for r in members] if column else members
            values.append(aggregate(func, col, column))
        out.append(values)
    return {"table": {"columns": keys + [s[0] for s in specs], "rows": out}, "group_count": len(out)}
