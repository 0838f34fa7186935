"""Parse dates and times and convert them between time zones and formats."""
import datetime as dt
import re
import zoneinfo

AUTO_FORMATS = (
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d",
    "%d %b %Y %H:%M:%S", "%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y",
    "%a, %d %b %Y %H:%M:%S %z", "%a, %d %b %Y %H:%M:%S GMT",
    "%Y%m%dT%H%M%SZ", "%Y%m%d",
)
OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def zone(name, what):
    name = (name or "UTC").strip()
    if name.upper() in ("UTC", "Z", "GMT"):
        return dt.timezone.utc
    m = OFFSET.fullmatch(name)
    if m:
        delta = dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return dt.timezone(-delta if m.group(1) == "-" else delta)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown {what} time zone '{name}': use an IANA name such as Europe/Berlin, "
                         "UTC, or an offset such as +02:00.") from None


def parse(value, fmt, tz_in):
    if isinstance(value, bool):
        raise ValueError("a boolean is not a date")
    if fmt in ("unix", "unix_ms") or (fmt == "auto" and isinstance(value, (int, float))):
        seconds = float(value) / (1000 if fmt == "unix_ms" else 1)
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    text = str(value).strip()
    if fmt == "auto":
        parsed = None
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            for f in AUTO_FORMATS:
                try:
                    parsed = dt.datetime.strptime(text, f)
                    break
                except ValueError:
                    pass
        if parsed is None:
            if re.fullmatch(r"-?\d+(\.\d+)?", text):
                return dt.datetime.fromtimestamp(float(text), dt.timezone.utc)
            raise ValueError(f"'{text}' is not a date or time this node recognises; set 'Input format'")
    else:
        parsed = dt.datetime.strptime(text, fmt)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz_in)
    return parsed


def render(moment, fmt):
    if fmt == "iso":
        return moment.isoformat()
    if fmt == "date":
        return moment.date().isoformat()
    if fmt == "unix":
        return int(moment.timestamp())
    if fmt == "unix_ms":
        return int(moment.timestamp() * 1000)
    return moment.strftime(fmt)


def run(inputs, params, ctx):
    fmt_in = params.get("input_format") or "auto"
    fmt_out = params.get("output_format") or "iso"
    tz_in = zone(params.get("input_timezone"), "input")
    tz_out = zone(params.get("output_timezone"), "output")
    on_error = params.get("on_error", "fail")

    def convert(value, where):
        if value is None or value == "":
            return None
        try:
            return render(parse(value, fmt_in, tz_in).astimezone(tz_out), fmt_out)
        except (ValueError, OverflowError, OSError) as e:
            if on_error == "null":
                return None
            raise ValueError(f"{where}: cannot convert {value!r}: {e}.") from None

    out = {}
    if inputs.get("value") is not None:
        out["value"] = convert(inputs["value"], "Input 'value'")
    tbl = inputs.get("table")
    if tbl is not None:
        if not (isinstance(tbl, dict) and isinstance(tbl.get("columns"), list) and isinstance(tbl.get("rows"), list)):
            raise ValueError("Input 'table' must be a table: {\"columns\": [...], \"rows\": [[...], ...]}.")
        column = params.get("column") or ""
        if column not in tbl["columns"]:
            raise ValueError(f"Unknown column '{column}' (columns: {', '.join(map(str, tbl['columns']))}).")
        i = tbl["columns"].index(column)
        target = params.get("new_column") or column
        columns = list(tbl["columns"]) + ([] if target in tbl["columns"] else [target])
        j = columns.index(target)
        rows = []
        for n, row in enumerate(tbl["rows"], start=1):
            new = list(row) + [None] * (len(columns) - len(row))
            new[j] = convert(row[i], f"Row {n}")
            rows.append(new)
        out["table"] = {"columns": columns, "rows": rows}
    if not out:
        raise ValueError("Give a 'value' or a 'table' input.")
    return out
