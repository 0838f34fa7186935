"""Merge a list of values into one text."""
import json


def text_of(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def run(inputs, params, ctx):
    parts = [text_of(v) for v in inputs["parts"]]
    if params.get("skip_empty", True):
        parts = [p for p in parts if p.strip()]
    sep = (params.get("separator", "\\n")).replace("\\n", "\n").replace("\\t", "\t")
    text = params.get("prefix", "") + sep.join(parts) + params.get("suffix", "")
    return {"text": text}
