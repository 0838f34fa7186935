"""Pick, reorder and rename columns."""
import re

ITEM = re.compile(r"(.+?)\s+(?:as|AS|->)\s+(.+)|(.+)")


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
    picks = []
    for part in re.split(r"[,\n]", params.get("columns") or ""):
        part = part.strip()
        if not part:
            continue
        m = ITEM.fullmatch(part)
        source = (m.group(1) or m.group(3)).strip()
        target = (m.group(2) or source).strip()
        if source not in columns:
            if params.get("missing", "error") == "skip":
                ctx.log(f"column '{source}' is missing, skipped", level="warning")
                continue
        picks.append((index_of(columns, source), target))
    if not picks:
        raise ValueError("Name the columns to keep, e.g. 'id, name as customer'.")
    if params.get("keep_others", False):
        chosen = {i for i, _ in picks}
        picks += [(i, c) for i, c in enumerate(columns) if i not in chosen]
    out_cols = [t for _, t in picks]
    dupes = sorted({c for c in out_cols if out_cols.count(c) > 1})
    if dupes:
        raise ValueError(f"The result would have duplicate column names: {', '.join(dupes)}.")
    return {"table": {"columns": out_cols, "rows": [[r[i] for i, _ in picks] for r in rows]}}
