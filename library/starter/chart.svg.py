"""Bar or line chart of a table as an SVG file (standard library only)."""
import html
import math

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")


def esc(v):
    return html.escape(str(v), quote=True)


def nice_ticks(lo, hi, count=5):
    """Round tick values covering [lo, hi]."""
    if hi == lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t < hi + step * 0.5:
        ticks.append(round(t, 10))
        t += step
        if len(ticks) > 50:
            break
    return ticks


def label(v):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int) and abs(v) >= 10000:
        return f"{v:,}"
    return f"{v:g}" if isinstance(v, float) else str(v)


def number(v, where):
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError(f"{where}: {v!r} is not a number")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {v!r} is not a number") from None


def run(inputs, params, ctx):
    tbl = inputs["table"]
    if not (isinstance(tbl, dict) and isinstance(tbl.get("columns"), list) and isinstance(tbl.get("rows"), list)):
        raise ValueError("Input 'table' must be a table: {\"columns\": [...], \"rows\": [[...], ...]}.")
    columns, rows = [str(c) for c in tbl["columns"]], tbl["rows"]
    x = params.get("x") or ""
    if x not in columns:
        raise ValueError(f"Unknown x column '{x}' (columns: {', '.join(columns)}).")
    ys = [c.strip() for c in (params.get("y") or "").split(",") if c.strip()]
    if not ys:
        ys = [c for i, c in enumerate(columns) if c != x and rows
              and all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) for r in rows if r[i] is not None)]
    for y in ys:
        if y not in columns:
            raise ValueError(f"Unknown y column '{y}' (columns: {', '.join(columns)}).")
    if not ys:
        raise ValueError("No numeric column to plot: name the y column(s).")
    if not rows:
        raise ValueError("The table has no rows to plot.")
    if len(rows) > 2000:
        raise ValueError(f"{len(rows)} rows are too many for one chart (at most 2000); aggregate first.")
    xi = columns.index(x)
    series = [[number(r[columns.index(y)], f"row {n + 1}, column '{y}'") for n, r in enumerate(rows)] for y in ys]
    labels = [r[xi] for r in rows]
    values = [v for s in series for v in s if v is not None]
    kind = params.get("kind", "bar")
    width, height = int(params.get("width", 720)), int(params.get("height", 400))
    title = params.get("title") or ""
    left, right, top, bottom = 64, 16, 40 if title else 16, 56
    if len(ys) > 1:
        bottom += 24
    pw, ph = width - left - right, height - top - bottom
    lo, hi = min(values + [0]), max(values + [0])
    ticks = nice_ticks(lo, hi)
    lo, hi = min(ticks[0], lo), max(ticks[-1], hi)

    def ypos(v):
        return top + ph - (v - lo) / (hi - lo) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    if title:
        out.append(f'<text x="{width / 2:.1f}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{esc(title)}</text>')
    for t in ticks:
        y = ypos(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#374151">{esc(label(t))}</text>')
    zero = ypos(0)
    out.append(f'<line x1="{left}" y1="{zero:.1f}" x2="{left + pw}" y2="{zero:.1f}" stroke="#6b7280"/>')
    n = len(rows)
    slot = pw / n
    every = max(1, math.ceil(n / max(1, pw // 60)))
    for i, lab in enumerate(labels):
        if i % every:
            continue
        cx = left + slot * (i + 0.5)
        text = str(lab) if lab is not None else ""
        text = text if len(text) <= 14 else text[:13] + "…"
        out.append(f'<text x="{cx:.1f}" y="{top + ph + 18}" text-anchor="middle" fill="#374151">{esc(text)}</text>')
    for s, (name, vals) in enumerate(zip(ys, series)):
        color = PALETTE[s % len(PALETTE)]
        out.append(f'<g fill="{color}" stroke="{color}"><title>{esc(name)}</title>')
        if kind == "bar":
            bw = slot * 0.8 / len(ys)
            for i, v in enumerate(vals):
                if v is None:
                    continue
                bx = left + slot * i + slot * 0.1 + bw * s
                y0, y1 = sorted((ypos(v), zero))
                out.append(f'<rect x="{bx:.1f}" y="{y0:.1f}" width="{bw:.1f}" height="{max(y1 - y0, 0.5):.1f}" stroke="none">'
                           f'<title>{esc(labels[i])}: {esc(label(v))}</title></rect>')
        else:
            points = [(left + slot * (i + 0.5), ypos(v)) for i, v in enumerate(vals) if v is not None]
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            out.append(f'<polyline points="{path}" fill="none" stroke-width="2"/>')
            for (px, py), v in zip(points, [v for v in vals if v is not None]):
                out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3"><title>{esc(label(v))}</title></circle>')
        out.append("</g>")
    if len(ys) > 1:
        lx = left
        for s, name in enumerate(ys):
            color = PALETTE[s % len(PALETTE)]
            out.append(f'<rect x="{lx}" y="{height - 20}" width="12" height="12" fill="{color}"/>')
            out.append(f'<text x="{lx + 16}" y="{height - 10}" fill="#374151">{esc(name)}</text>')
            lx += 28 + 7 * len(name)
    out.append("</svg>")
    svg = "\n".join(out) + "\n"
    name = params.get("filename") or "chart.svg"
    if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".svg"):
        raise ValueError("The file name must be a plain name ending in .svg, such as 'chart.svg'.")
    return {"chart": ctx.write_file(name, svg.encode()), "svg": svg}
