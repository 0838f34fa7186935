"""Find regular expression matches and their groups as a table."""
import re

FLAGS = {"ignore_case": re.IGNORECASE, "multiline": re.MULTILINE, "dot_all": re.DOTALL}


def run(inputs, params, ctx):
    text = inputs["text"]
    flags = 0
    for f in params.get("flags") or []:
        flags |= FLAGS[f]
    try:
        pattern = re.compile(params.get("pattern") or "", flags)
    except re.error as e:
        raise ValueError(f"The pattern is not a valid regular expression: {e}.") from None
    if not pattern.pattern:
        raise ValueError("The pattern is empty.")
    names = {i: n for n, i in pattern.groupindex.items()}
    columns = ["match"] + [names.get(i, f"group_{i}") for i in range(1, pattern.groups + 1)]
    rows = []
    limit = int(params.get("max_matches", 0) or 0)
    for m in pattern.finditer(text):
        rows.append([m.group(0)] + list(m.groups()))
        if params.get("mode", "all") == "first" or (limit and len(rows) >= limit):
            break
    first = rows[0][0] if rows else ""
    if not rows and params.get("require_match", False):
        raise ValueError(f"The pattern {pattern.pattern!r} does not match the text.")
    return {"table": {"columns": columns, "rows": rows}, "first": first, "count": len(rows)}
