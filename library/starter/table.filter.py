"""Keep the rows for which an expression is true.

The expression is parsed with `ast` and evaluated by a small interpreter that
knows only comparisons, and/or/not, arithmetic, constants, tuples/lists of
constants, column names and the functions below; anything else (attribute
access, subscripts, lambdas, other calls) is refused before any row is read.
It never uses eval.
"""
import ast
import operator

FUNCTIONS = {
    "len": lambda v: len(v) if v is not None else 0,
    "lower": lambda v: str(v).lower() if v is not None else None,
    "upper": lambda v: str(v).upper() if v is not None else None,
    "contains": lambda v, part: v is not None and str(part) in str(v),
    "col": None,  # col("Name with spaces"): handled in the evaluator
}
BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
ORDER = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
MAX_LENGTH = 2000


class ExpressionError(ValueError):
    pass


def table(value, port):
    if not (isinstance(value, dict) and isinstance(value.get("columns"), list) and isinstance(value.get("rows"), list)):
        raise ValueError(f"Input '{port}' must be a table: {{\"columns\": [...], \"rows\": [[...], ...]}}.")
    columns = [str(c) for c in value["columns"]]
    for i, row in enumerate(value["rows"]):
        if not isinstance(row, list) or len(row) != len(columns):
            raise ValueError(f"Input '{port}': row {i + 1} must be a list of {len(columns)} values.")
    return columns, value["rows"]


def check(node, columns):
    """Refuses every construct the evaluator does not support, naming it."""
    if isinstance(node, ast.Expression):
        return check(node.body, columns)
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (str, int, float, bool, type(None))):
            raise ExpressionError(f"constant {node.value!r} is not allowed")
        return
    if isinstance(node, ast.Name):
        if node.id not in columns:
            raise ExpressionError(f"unknown column '{node.id}' (columns: {', '.join(columns)}); "
                                  "use col(\"…\") for names with spaces")
        return
    if isinstance(node, (ast.Tuple, ast.List)):
        for e in node.elts:
            check(e, columns)
        return
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            check(v, columns)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
        return check(node.operand, columns)
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        check(node.left, columns)
        return check(node.right, columns)
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if not isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn, ast.Is, ast.IsNot, *ORDER)):
                raise ExpressionError(f"operator {type(op).__name__} is not allowed")
        check(node.left, columns)
        for c in node.comparators:
            check(c, columns)
        return
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS or node.keywords:
            raise ExpressionError(f"only the functions {', '.join(sorted(FUNCTIONS))} may be called")
        if name == "col":
            if len(node.args) != 1 or not isinstance(node.args[0], ast.Constant) or node.args[0].value not in columns:
                raise ExpressionError(f"col() takes one column name in quotes (columns: {', '.join(columns)})")
            return
        for a in node.args:
            check(a, columns)
        return
    raise ExpressionError(f"{type(node).__name__} is not allowed in a filter expression")


def evaluate(node, row):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return row[node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [evaluate(e, row) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(evaluate(v, row) for v in node.values)
        return any(evaluate(v, row) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        v = evaluate(node.operand, row)
        if isinstance(node.op, ast.Not):
            return not v
        if v is None:
            return None
        return -v if isinstance(node.op, ast.USub) else +v
    if isinstance(node, ast.BinOp):
        a, b = evaluate(node.left, row), evaluate(node.right, row)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Mult) and (isinstance(a, str) or isinstance(b, str)):
            raise TypeError("text cannot be multiplied")
        return BINOPS[type(node.op)](a, b)
    if isinstance(node, ast.Compare):
        left = evaluate(node.left, row)
        for op, comp in zip(node.ops, node.comparators):
            right = evaluate(comp, row)
            if isinstance(op, ast.Eq):
                ok = left == right
            elif isinstance(op, ast.NotEq):
                ok = left != right
            elif isinstance(op, (ast.In, ast.NotIn)):
                ok = right is not None and left in (right if isinstance(right, (list, str)) else [right])
                ok = ok if isinstance(op, ast.In) else not ok
            elif isinstance(op, ast.Is):
                ok = left is right
            elif isinstance(op, ast.IsNot):
                ok = left is not right
            else:
                # Like SQL: an ordering comparison with a missing value is false.
                ok = left is not None and right is not None and ORDER[type(op)](left, right)
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.Call):
        if node.func.id == "col":
            return row[node.args[0].value]
        return FUNCTIONS[node.func.id](*[evaluate(a, row) for a in node.args])
    raise ExpressionError(f"{type(node).__name__} is not allowed")


def compile_expression(text, columns):
    text = (text or "").strip()
    if not text:
        raise ValueError("The filter expression is empty.")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"The filter expression is longer than {MAX_LENGTH} characters.")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ValueError(f"The filter expression is not valid: {e.msg} (column {e.offset}).") from None
    try:
        check(tree, columns)
    except ExpressionError as e:
        raise ValueError(f"The filter expression is not allowed: {e}.") from None
    return tree.body


def run(inputs, params, ctx):
    columns, rows = table(inputs["table"], "table")
    expr = compile_expression(params.get("expression"), columns)
    kept = []
    for i, values in enumerate(rows):
        try:
            if evaluate(expr, dict(zip(columns, values))):
                kept.append(values)
        except (TypeError, ZeroDivisionError) as e:
            raise ValueError(f"Row {i + 1}: the expression cannot be evaluated: {e}.") from None
    ctx.log(f"kept {len(kept)} of {len(rows)} rows")
    return {"table": {"columns": columns, "rows": kept}, "row_count": len(kept)}
