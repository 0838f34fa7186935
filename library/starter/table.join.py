"""Join two tables on key columns (inner, left, right or full outer)."""


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
    lcols, lrows = table(inputs["left"], "left")
    rcols, rrows = table(inputs["right"], "right")
    lkeys = names(params.get("left_on"))
    rkeys = names(params.get("right_on")) or lkeys
    if not lkeys:
        raise ValueError("Name the key column(s) in 'Left key columns'.")
    if len(lkeys) != len(rkeys):
        raise ValueError("Give as many right key columns as left key columns.")
    li = [index_of(lcols, k, "left") for k in lkeys]
    ri = [index_of(rcols, k, "right") for k in rkeys]
    how = params.get("how", "inner")
    suffix = params.get("suffix") or "_right"
    # The right table's key columns are merged into the left ones.
    rest = [i for i in range(len(rcols)) if i not in ri]
    out_cols = list(lcols)
    for i in rest:
        name = rcols[i]
        while name in out_cols:
            name += suffix
        out_cols.append(name)
    index = {}
    for r in rrows:
        index.setdefault(tuple(r[i] for i in ri), []).append(r)
    rows, matched = [], set()
    for l in lrows:
        key = tuple(l[i] for i in li)
        partners = index.get(key, []) if None not in key else []
        for r in partners:
            matched.add(id(r))
            rows.append(list(l) + [r[i] for i in rest])
        if not partners and how in ("left", "outer"):
            rows.append(list(l) + [None] * len(rest))
    if how in ("right", "outer"):
        for r in rrows:
            if id(r) not in matched:
                left = [None] * len(lcols)
                for a, b in zip(li, ri):
                    left[a] = r[b]
                rows.append(left + [r[i] for i in rest])
    return {"table": {"columns": out_cols, "rows": rows}, "row_count": len(rows)}
