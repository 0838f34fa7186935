"""Split a text into parts."""
import re


def unescape(s):
    return s.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r")


def run(inputs, params, ctx):
    text = inputs["text"]
    sep = params.get("separator", "\\n")
    limit = int(params.get("max_splits", 0) or 0)
    if params.get("regex", False):
        try:
            parts = re.split(sep, text, maxsplit=limit)
        except re.error as e:
            raise ValueError(f"The separator is not a valid regular expression: {e}.") from None
    else:
        sep = unescape(sep)
        if sep == "":
            raise ValueError("The separator is empty.")
        if sep == "\n":
            parts = text.splitlines()
            if limit:
                parts = parts[:limit] + (["\n".join(parts[limit:])] if len(parts) > limit else [])
        else:
            parts = text.split(sep, limit or -1)
    if params.get("strip", True):
        parts = [p.strip() if isinstance(p, str) else p for p in parts]
    if params.get("drop_empty", True):
        parts = [p for p in parts if p]
    return {"parts": parts, "count": len(parts)}
