import { memo, useMemo, useState } from "react";
import { Input } from "@/shared/ui";
import { PORT_COLORS, type Template } from "@/entities/template";
import { FlowGlyph } from "./flow-glyph";

export const DRAG_MIME = "application/x-katalusis-template";

/** Library nodes grouped by category; drag onto the canvas or press Enter to add. */
export const Palette = memo(function Palette({
  templates,
  onAdd,
}: {
  templates: Template[];
  onAdd: (t: Template) => void;
}) {
  const [q, setQ] = useState("");
  const groups = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const m = new Map<string, Template[]>();
    for (const t of templates) {
      if (t.deleted) continue;
      if (
        needle &&
        !`${t.title} ${t.name} ${t.category} ${t.description}`.toLowerCase().includes(needle)
      )
        continue;
      const c = t.category || "uncategorised";
      m.set(c, [...(m.get(c) ?? []), t]);
    }
    return [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [templates, q]);

  return (
    <aside
      className="flex w-60 shrink-0 flex-col border-r border-slate-200 bg-white"
      aria-label="Node palette"
    >
      <div className="border-b border-slate-100 p-2">
        <Input
          aria-label="Search the node library"
          placeholder="Search nodes…"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
      </div>
      <div className="min-h-0 flex-1 overflow-auto p-2">
        {groups.length === 0 && <p className="p-2 text-xs text-slate-500">No node matches.</p>}
        {groups.map(([cat, list]) => (
          <div key={cat} className="mb-3">
            <p className="px-1 pb-1 text-[10px] font-semibold uppercase tracking-wide text-slate-500">
              {cat}
            </p>
            <ul className="space-y-1">
              {list.map((t) => (
                <li key={t.name}>
                  <div
                    draggable
                    tabIndex={0}
                    role="button"
                    aria-description="Drag onto the canvas, or press Enter to add"
                    data-testid={`palette-${t.name}`}
                    onDragStart={(e) => {
                      e.dataTransfer.setData(
                        DRAG_MIME,
                        JSON.stringify({ name: t.name, version: t.version }),
                      );
                      e.dataTransfer.effectAllowed = "move";
                    }}
                    onKeyDown={(e) => e.key === "Enter" && onAdd(t)}
                    onDoubleClick={() => onAdd(t)}
                    className="cursor-grab rounded-md border border-slate-200 bg-white px-2 py-1.5 text-xs shadow-sm hover:border-indigo-300 focus:outline-2 focus:outline-indigo-500 active:cursor-grabbing"
                  >
                    <div className="flex items-center justify-between gap-1">
                      {t.builtin && <FlowGlyph kind={t.builtin} decorative />}
                      <span className="flex-1 truncate font-medium text-slate-800">{t.title}</span>
                      <span className="text-[10px] text-slate-500">v{t.version}</span>
                    </div>
                    <div className="mt-1 flex items-center gap-0.5">
                      {(t.inputs ?? []).map((p) => (
                        <span
                          key={`i${p.name}`}
                          className="h-1.5 w-1.5 rounded-full"
                          style={{ background: PORT_COLORS[p.type] }}
                          title={`in ${p.name}: ${p.type}`}
                        />
                      ))}
                      <span className="mx-0.5 text-[9px] text-slate-300" aria-hidden="true">
                        →
                      </span>
                      {(t.outputs ?? []).map((p) => (
                        <span
                          key={`o${p.name}`}
                          className="h-1.5 w-1.5 rounded-full"
                          style={{ background: PORT_COLORS[p.type] }}
                          title={`out ${p.name}: ${p.type}`}
                        />
                      ))}
                    </div>
                  </div>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </div>
      <p className="border-t border-slate-100 p-2 text-[10px] text-slate-500">
        Drag a node onto the canvas, or focus it and press Enter.
      </p>
    </aside>
  );
});
