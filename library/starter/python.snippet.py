"""Run a short piece of Python given as a parameter (for quick experiments).

The snippet runs inside this node, which is itself sandboxed (restricted:
no network, the import allow-list, only its temp dir), so executing the
admin's code here grants nothing the node could not already do."""


def run(inputs, params, ctx):
    code = params.get("code") or ""
    if not code.strip():
        raise ValueError("The 'code' parameter is empty.")
    # Module-level names of this node: imports in the snippet pass through the
    # same import guard as the node's own code.
    scope = globals()
    scope.update(data=inputs.get("data"), params=params, ctx=ctx, result=None)
    exec(compile(code, "<snippet>", "exec"), scope)
    return {"result": scope.get("result")}
