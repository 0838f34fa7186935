import type { TemplateSpec } from "@/entities/template";

/** What the code receives and must return, spelled out for this spec. */
export function ContractHelp({ spec }: { spec: TemplateSpec }) {
  return (
    <aside
      className="space-y-3 rounded-md bg-slate-50 p-4 text-xs text-slate-700 ring-1 ring-slate-200"
      aria-label="Node contract"
    >
      <p className="font-semibold text-slate-900">Node contract</p>
      <pre className="overflow-x-auto rounded bg-white p-2 font-mono text-[11px] ring-1 ring-slate-200">{`def run(inputs, params, ctx):
    ctx.log("working", level="info")
    ctx.progress(0.5, "half way")
    return {"out_port": value}`}</pre>
      <p>
        <b>inputs</b>: {(spec.inputs ?? []).map((p) => `${p.name}: ${p.type}`).join(", ") || "none"}
      </p>
      <p>
        <b>return</b> one key per output:{" "}
        {(spec.outputs ?? []).map((p) => `${p.name}: ${p.type}`).join(", ") || "none"}
      </p>
      <p>
        <b>params</b>: {(spec.parameters ?? []).map((p) => p.name).join(", ") || "none"} (secrets
        arrive as strings and are masked in logs)
      </p>
      <p>
        <b>ctx</b>: log, progress, write_file(name, bytes|path), tmp_dir, run_id, node_id, attempt.
        Files arrive as local paths, binary as bytes.
      </p>
      <p>
        Use <code>async def run</code> with execution mode “async”.
      </p>
    </aside>
  );
}
