"""CSV → table. Detects the encoding (UTF-8 with or without BOM, UTF-16/32
with BOM, else cp1252, else latin-1) and the delimiter (, ; TAB |).

Table format: {"columns": [names], "rows": [[values], ...]}.
"""
import csv
import io
import re

DELIMITERS = {"auto": None, "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
BOMS = [
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
]
INT = re.compile(r"[+-]?(0|[1-9][0-9]*)")
FLOAT = re.compile(r"[+-]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?")


def decode(data, wanted):
    if wanted != "auto":
        try:
            return data.decode(wanted), wanted
        except UnicodeDecodeError as e:
            raise ValueError(f"The file is not valid {wanted} (byte {e.start}); choose another encoding or 'auto'.") from None
    for bom, name in BOMS:
        if data.startswith(bom):
            return data.decode(name), name
    for name in ("utf-8", "cp1252"):
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "latin-1"


def sniff(text):
    """The candidate delimiter that splits the first lines most consistently."""
    sample = text[:65536]
    lines = sample.splitlines()
    if len(sample) == 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in lines[:50] if ln.strip()]
    best, best_score = ",", (0, 0)
    for d in (",", ";", "\t", "|"):
        counts = [len(r) for r in csv.reader(lines, delimiter=d)]
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        if modal < 2:
            continue
        score = (counts.count(modal), modal)
        if score > best_score:
            best, best_score = d, score
    return best


def convert(value, decimal):
    if value == "":
        return None
    v = value.strip()
    if decimal == "," and re.fullmatch(r"[+-]?[0-9]+,[0-9]+", v):
        v = v.replace(",", ".")
    if re.match(r"[+-]?0[0-9]", v):
        return value  # leading zeros (zip codes, ids) are text
    if INT.fullmatch(v):
        return int(v)
    if FLOAT.fullmatch(v):
        return float(v)
    return value


def unique_names(header):
    names, seen = [], set()
    for i, h in enumerate(header):
        base = h.strip() or f"column_{i + 1}"
        name, n = base, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        names.append(name)
    return names


def run(inputs, params, ctx):
    path, text = inputs.get("file"), inputs.get("text")
    if path is None and text is None:
        raise ValueError("Give the CSV either as the 'file' input or as the 'text' input.")
    if path is not None:
        with open(path, "rb") as f:
            text, encoding = decode(f.read(), params.get("encoding", "auto"))
    else:
        encoding = "text"
    text = text.lstrip("\ufeff")
    delimiter = DELIMITERS.get(params.get("delimiter", "auto"))
    if delimiter is None:
        delimiter = sniff(text)
    ctx.log(f"encoding {encoding}, delimiter {delimiter!r}")
    infer = params.get("infer_types", True)
    decimal = params.get("decimal", ".")
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False) if r]
    if params.get("header", True):
        if not records:
            raise ValueError("The CSV is empty: there is no header row.")
        columns, body = unique_names(records[0]), records[1:]
    else:
        width = max((len(r) for r in records), default=0)
        columns, body = [f"column_{i + 1}" for i in range(width)], records
    rows = []
    for n, rec in enumerate(body, start=2 if params.get("header", True) else 1):
        if len(rec) > len(columns):
            if any(v.strip() for v in rec[len(columns):]):
                raise ValueError(f"Record {n} has {len(rec)} fields but the header has {len(columns)} "
                                 f"(delimiter {delimiter!r}); check the delimiter or the quoting.")
            rec = rec[: len(columns)]
        values = [convert(v, decimal) if infer else v for v in rec]
        values += [None] * (len(columns) - len(values))
        rows.append(values)
    return {"table": {"columns": columns, "rows": rows}, "encoding": encoding,
            "delimiter": delimiter, "row_count": len(rows)}
