"""Format numbers for people: decimals, thousands and decimal separators,
percent, prefix and suffix. Rounds half away from zero (2.675 → 2.68)."""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

THOUSANDS = {"none": "", "comma": ",", "dot": ".", "space": " ", "apostrophe": "'", "thin_space": "\u202f"}
DECIMALS = {"dot": ".", "comma": ","}


def to_decimal(v):
    if isinstance(v, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(v, (int, float)):
        return Decimal(str(v))
    try:
        return Decimal(str(v).strip().replace("_", ""))
    except InvalidOperation:
        raise ValueError("not a number") from None


def fmt(v, params):
    d = to_decimal(v)
    if not d.is_finite():
        raise ValueError("not a finite number")
    if params.get("percent", False):
        d *= 100
    places = int(params.get("decimals", 2))
    d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if d < 0 else ""
    whole, _, frac = f"{abs(d):f}".partition(".")
    sep = THOUSANDS[params.get("thousands", "none")]
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    whole = sep.join([whole] + groups)
    text = whole + (DECIMALS[params.get("decimal_separator", "dot")] + frac if frac else "")
    return f"{params.get('prefix', '')}{sign}{text}{'%' if params.get('percent', False) else ''}{params.get('suffix', '')}"


def run(inputs, params, ctx):
    if params.get("thousands", "none") == "dot" and params.get("decimal_separator", "dot") == "dot":
        raise ValueError("The thousands and decimal separators are both '.'.")
    if params.get("thousands", "none") == "comma" and params.get("decimal_separator", "dot") == "comma":
        raise ValueError("The thousands and decimal separators are both ','.")
    on_error = params.get("on_error", "fail")

    def convert(v, where):
        if v is None or v == "":
            return None
        try:
            return fmt(v, params)
        except ValueError as e:
            if on_error == "keep":
                return v
            raise ValueError(f"{where}: cannot format {v!r}: {e}.") from None

    out = {}
    if inputs.get("value") is not None:
        out["value"] = convert(inputs["value"], "Input 'value'")
    tbl = inputs.get("table")
    if tbl is not None:
        if not (isinstance(tbl, dict) and isinstance(tbl.get("columns"), list) and isinstance(tbl.get("rows"), list)):
            raise ValueError("Input 'table' must be a table: {\"columns\": [...], \"rows\": [[...], ...]}.")
        wanted = [c.strip() for c in (params.get("columns") or "").split(",") if c.strip()]
        if not wanted:
            raise ValueError("Name the column(s) to format.")
        missing = [c for c in wanted if c not in tbl["columns"]]
        if missing:
            raise ValueError(f"Unknown column(s) {', '.join(missing)} (columns: {', '.join(map(str, tbl['columns']))}).")
        idx = [tbl["columns"].index(c) for c in wanted]
        rows = []
        for n, row in enumerate(tbl["rows"], start=1):
            row = list(row)
            for i in idx:
                row[i] = convert(row[i], f"Row {n}, column '{tbl['columns'][i]}'")
            rows.append(row)
        out["table"] = {"columns": list(tbl["columns"]), "rows": rows}
    if not out:
        raise ValueError("Give a 'value' or a 'table' input.")
    return out
