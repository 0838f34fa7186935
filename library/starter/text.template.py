"""Fill a text template: {{ name }} and {{ customer.address.city }} placeholders.

No code runs inside the template: a placeholder is only a dotted path into the
values (list positions as numbers, e.g. {{ items.0 }})."""
import json
import re

PLACEHOLDER = re.compile(r"\{\{\s*([\w-]+(?:\.[\w-]+)*)\s*\}\}")


def lookup(values, path):
    cur = values
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and re.fullmatch(r"-?\d+", part) and -len(cur) <= int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise KeyError(path)
    return cur


def text_of(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def render(template, values, missing):
    def sub(m):
        try:
            return text_of(lookup(values, m.group(1)))
        except KeyError:
            if missing == "error":
                raise ValueError(f"The template uses {{{{ {m.group(1)} }}}} but there is no such value "
                                 f"(available: {', '.join(sorted(values)) or 'none'}).") from None
            return m.group(0) if missing == "keep" else ""
    return PLACEHOLDER.sub(sub, template)


def run(inputs, params, ctx):
    template = params.get("template") or ""
    missing = params.get("missing", "error")
    values = inputs.get("values") or {}
    if not isinstance(values, dict):
        raise ValueError("The 'values' input must be an object.")
    tbl = inputs.get("table")
    if tbl is None:
        text = render(template, values, missing)
        return {"text": text, "parts": [text]}
    if not (isinstance(tbl, dict) and isinstance(tbl.get("columns"), list) and isinstance(tbl.get("rows"), list)):
        raise ValueError("Input 'table' must be a table: {\"columns\": [...], \"rows\": [[...], ...]}.")
    parts = []
    for row in tbl["rows"]:
        parts.append(render(template, {**values, **dict(zip(tbl["columns"], row))}, missing))
    sep = params.get("separator", "\\n").replace("\\n", "\n").replace("\\t", "\t")
    return {"text": sep.join(parts), "parts": parts}
