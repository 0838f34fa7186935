"""Extract values from JSON with a small path language: $.items[0].name,
items[*].id, $['key with spaces']. Recursive descent ($..x) and filters are
not supported."""
import re

TOKEN = re.compile(r"""\.\s*([A-Za-z_][\w-]*|\*)|\[\s*(-?\d+|\*|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*\]""")


def parse(path):
    path = (path or "").strip()
    if not path:
        raise ValueError("The path is empty; '$' is the whole document, e.g. $.items[0].name.")
    rest = path[1:] if path.startswith("$") else "." + path if not path.startswith("[") else path
    steps, pos = [], 0
    while pos < len(rest):
        m = TOKEN.match(rest, pos)
        if not m:
            raise ValueError(f"Cannot read the path at '{rest[pos:]}': use .name, ['name'], [index] or [*].")
        name, bracket = m.group(1), m.group(2)
        if name is not None:
            steps.append(("all", None) if name == "*" else ("key", name))
        elif bracket == "*":
            steps.append(("all", None))
        elif bracket[0] in "'\"":
            steps.append(("key", re.sub(r"\\(.)", r"\1", bracket[1:-1])))
        else:
            steps.append(("index", int(bracket)))
        pos = m.end()
    return steps


def walk(values, steps):
    for kind, arg in steps:
        nxt = []
        for v in values:
            if kind == "key" and isinstance(v, dict) and arg in v:
                nxt.append(v[arg])
            elif kind == "index" and isinstance(v, list) and -len(v) <= arg < len(v):
                nxt.append(v[arg])
            elif kind == "all" and isinstance(v, list):
                nxt.extend(v)
            elif kind == "all" and isinstance(v, dict):
                nxt.extend(v.values())
        values = nxt
    return values


def run(inputs, params, ctx):
    data = inputs.get("data")
    path = params.get("path", "$")
    steps = parse(path)
    found = walk([data], steps)
    if params.get("mode", "first") == "all":
        return {"value": found, "count": len(found)}
    if not found:
        if params.get("missing", "error") == "error":
            raise ValueError(f"Nothing matches the path {path}.")
        return {"value": None, "count": 0}
    return {"value": found[0], "count": len(found)}
