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
      <p>
        <b>errors</b>: raise an exception (e.g. <code>ValueError(&quot;no rows&quot;)</code>) to
        fail the node; its message is shown in the run view and the traceback in the logs. Exceeding
        the time or memory limit fails it with reason <code>timeout</code> or <code>memory</code>.
      </p>
      <p>
        <b>restricted</b> nodes run without network and may import only the allowed modules (Admin →
        Settings); <b>trusted</b> nodes may use the network.
      </p>
      <details
        className="rounded bg-white p-2 ring-1 ring-slate-200"
        data-testid="contract-examples"
      >
        <summary className="cursor-pointer font-semibold text-slate-900">Examples</summary>
        {EXAMPLES.map((e) => (
          <div key={e.title} className="mt-2">
            <p className="font-medium text-slate-800">{e.title}</p>
            <pre className="mt-1 overflow-x-auto rounded bg-slate-50 p-2 font-mono text-[11px]">
              {e.code}
            </pre>
          </div>
        ))}
      </details>
    </aside>
  );
}

const EXAMPLES = [
  {
    title: "Text in, text out (input text: string, output text: string)",
    code: `def run(inputs, params, ctx):
    text = inputs["text"]
    ctx.log(f"{len(text)} characters")
    return {"text": text.upper() if params.get("upper") else text}`,
  },
  {
    title: "A table: {columns, rows} (input table: object, output total: number)",
    code: `def run(inputs, params, ctx):
    table = inputs["table"]
    col = table["columns"].index(params["column"])
    values = [r[col] for r in table["rows"] if r[col] is not None]
    if not values:
        raise ValueError("the column is empty")
    return {"total": sum(values)}`,
  },
  {
    title: "Writing a file (output report: file)",
    code: `def run(inputs, params, ctx):
    ctx.progress(0.5, "writing")
    ref = ctx.write_file("report.csv", b"region,total\\nNorth,162.75\\n")
    return {"report": ref}`,
  },
];
