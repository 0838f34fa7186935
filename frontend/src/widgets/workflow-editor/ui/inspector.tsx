import { Button, Field, Input, Select, Textarea } from "@/shared/ui";
import { PORT_COLORS, ParamField } from "@/entities/template";
import {
  TRIGGER_RULES,
  type GraphNode,
  type NodeLimits,
  type Problem,
  type TemplateInfo,
  type TriggerRule,
  type Workflow,
} from "@/entities/workflow";
import type { Run } from "@/entities/run";
import { useEditor, useEditorContext } from "../model/context";
import { isQueryParamShown, queryParam } from "../model/query-node";
import { ExpressionField } from "./expression-field";
import { QueryParamField } from "./query-fields";

/** Right-hand panel: the selected node's parameters, literal inputs, limits and notes. */
export function Inspector({
  problems,
  workflowName,
  onRename,
  saved,
  openRun,
  readOnly = false,
}: {
  problems: Problem[];
  workflowName: string;
  onRename: (name: string) => void;
  saved: Workflow;
  /** The run open in the Run tab, if any. */
  openRun: Run | undefined;
  /**
   * The fields are disabled around it; the panel itself then takes focus,
   * so it still scrolls from the keyboard.
   */
  readOnly?: boolean;
}) {
  const { store, lookup } = useEditorContext();
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedEdges = useEditor((s) => s.selectedEdges);
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const node = selectedNodes.size === 1 ? nodes.find((n) => selectedNodes.has(n.id)) : undefined;

  if (!node) {
    const edge =
      selectedEdges.size === 1 && selectedNodes.size === 0
        ? edges.find((e) => selectedEdges.has(e.id))
        : undefined;
    return (
      <aside
        className="w-80 shrink-0 overflow-auto border-l border-slate-200 bg-white p-4"
        aria-label="Inspector"
        tabIndex={readOnly ? 0 : undefined}
      >
        <fieldset disabled={readOnly} className="contents">
          {edge ? (
            <div className="space-y-3 text-sm">
              <h2 className="font-semibold">Connection</h2>
              <p className="font-mono text-xs">
                {edge.source}.{edge.sourcePort} → {edge.target}.{edge.targetPort}
              </p>
              <Button
                size="sm"
                variant="danger"
                onClick={() => store.getState().removeEdges([edge.id])}
              >
                Delete connection
              </Button>
            </div>
          ) : (
            <div className="space-y-4 text-sm">
              <Field label="Workflow name">
                {(id) => (
                  <Input id={id} value={workflowName} onChange={(e) => onRename(e.target.value)} />
                )}
              </Field>
              <p className="text-slate-500">
                {nodes.length} nodes · {edges.length} connections
                {selectedNodes.size > 1 && ` · ${selectedNodes.size} selected`}
              </p>
              <p className="text-xs text-slate-500">
                Select a node to edit its parameters, inputs, limits and notes.
              </p>
            </div>
          )}
        </fieldset>
      </aside>
    );
  }
  return (
    <NodeInspector
      key={node.id}
      node={node}
      problems={problems.filter((p) => p.nodeId === node.id)}
      template={lookup(node.template)}
      saved={saved}
      openRun={openRun}
      readOnly={readOnly}
    />
  );
}

function NodeInspector({
  node,
  problems,
  template,
  saved,
  openRun,
  readOnly,
}: {
  node: GraphNode;
  problems: Problem[];
  template: ReturnType<ReturnType<typeof useEditorContext>["lookup"]>;
  saved: Workflow;
  openRun: Run | undefined;
  readOnly: boolean;
}) {
  const { store } = useEditorContext();
  const edges = useEditor((s) => s.edges);
  const update = (patch: Partial<GraphNode>, key: string) =>
    store.getState().updateNode(node.id, patch, key);
  const problemFor = (port: string) => problems.find((p) => p.port === port)?.message;
  const connected = new Set(edges.filter((e) => e.target === node.id).map((e) => e.targetPort));
  const limits = template?.limits;

  return (
    <aside
      className="w-80 shrink-0 overflow-auto border-l border-slate-200 bg-white"
      aria-label="Inspector"
      tabIndex={readOnly ? 0 : undefined}
    >
      <fieldset disabled={readOnly} className="contents">
        <div className="border-b border-slate-100 p-4">
          <p className="text-[10px] font-semibold uppercase tracking-wide text-slate-500">Node</p>
          <h2 className="font-semibold">{template?.title ?? node.template.name}</h2>
          <p className="font-mono text-xs text-slate-500">
            {node.id} · {node.template.name} v{node.template.version}
          </p>
        </div>
        <div className="space-y-5 p-4">
          <Field label="Label">
            {(id) => (
              <Input
                id={id}
                value={node.label ?? ""}
                placeholder={template?.title}
                onChange={(e) => update({ label: e.target.value || undefined }, "label")}
              />
            )}
          </Field>

          {edges.some((e) => e.target === node.id) && (
            <Field
              label="Runs when"
              hint={TRIGGER_RULES.find(([rule]) => rule === (node.trigger ?? "all_succeeded"))?.[2]}
            >
              {(id) => (
                <Select
                  id={id}
                  value={node.trigger ?? "all_succeeded"}
                  onChange={(e) => {
                    const rule = e.target.value as TriggerRule;
                    update({ trigger: rule === "all_succeeded" ? undefined : rule }, "trigger");
                  }}
                >
                  {TRIGGER_RULES.map(([rule, label]) => (
                    <option key={rule} value={rule}>
                      {label}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
          )}

          {template && template.parameters.length > 0 && (
            <section className="space-y-3" aria-label="Parameters">
              <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">
                Parameters
              </h3>
              {template.parameters.map((p) => {
                if (!isQueryParamShown(template.builtin, p.name, node.params.operation))
                  return null;
                const onChange = (v: unknown) => {
                  const params = { ...node.params };
                  if (v === undefined) delete params[p.name];
                  else params[p.name] = v;
                  update({ params }, `param:${p.name}`);
                };
                const special = queryParam(template.builtin, p.name);
                if (special)
                  return (
                    <QueryParamField
                      key={p.name}
                      which={special}
                      node={node}
                      spec={p}
                      clientId={saved.clientId}
                      error={problemFor(p.name)}
                      onChange={onChange}
                    />
                  );
                return isExpression(template.builtin, p.name) ? (
                  <ExpressionField
                    key={p.name}
                    node={node}
                    spec={p}
                    template={template}
                    saved={saved}
                    openRun={openRun}
                    error={problemFor(p.name)}
                    onChange={onChange}
                  />
                ) : (
                  <ParamField
                    key={p.name}
                    spec={p}
                    value={node.params[p.name]}
                    error={problemFor(p.name)}
                    onChange={onChange}
                  />
                );
              })}
            </section>
          )}

          {template && template.inputs.length > 0 && (
            <section className="space-y-2" aria-label="Input values">
              <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">
                Inputs
              </h3>
              {template.inputs.map((p) => (
                <div key={p.name} className="space-y-1">
                  <label
                    className="flex items-center gap-1.5 text-xs font-medium text-slate-700"
                    htmlFor={`in-${node.id}-${p.name}`}
                  >
                    <span
                      className="h-2 w-2 rounded-full"
                      style={{ background: PORT_COLORS[p.type] }}
                    />
                    {p.name} <span className="font-normal text-slate-500">{p.type}</span>
                    {p.required && <span className="text-rose-600">*</span>}
                  </label>
                  {connected.has(p.name) ? (
                    <p className="text-xs text-slate-500">Connected.</p>
                  ) : p.type === "file" || p.type === "binary" ? (
                    <p className="text-xs text-slate-500">
                      Connect an output; files cannot be typed in.
                    </p>
                  ) : (
                    <Input
                      id={`in-${node.id}-${p.name}`}
                      placeholder={p.type === "string" ? "value" : "JSON value"}
                      invalid={!!problemFor(p.name)}
                      value={literalText(node.inputs?.[p.name], p.type)}
                      onChange={(e) => {
                        const inputs = { ...(node.inputs ?? {}) };
                        const parsed = parseLiteral(e.target.value, p.type);
                        if (parsed === undefined) delete inputs[p.name];
                        else inputs[p.name] = parsed;
                        update({ inputs }, `input:${p.name}`);
                      }}
                    />
                  )}
                  {problemFor(p.name) && (
                    <p className="text-xs text-rose-600">{problemFor(p.name)}</p>
                  )}
                </div>
              ))}
            </section>
          )}

          <section className="space-y-2" aria-label="Limit overrides">
            <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">Limits</h3>
            <p className="text-xs text-slate-500">
              Overrides may only tighten the node's own limits.
            </p>
            {(
              [
                ["timeoutSeconds", "Timeout (s)"],
                ["memoryMib", "Memory (MiB)"],
                ["cpuMillicores", "CPU (millicores)"],
              ] as const
            ).map(([k, label]) => (
              <Field key={k} label={label} hint={limits ? `Node default ${limits[k]}` : undefined}>
                {(id) => (
                  <Input
                    id={id}
                    type="number"
                    min={1}
                    max={limits?.[k]}
                    placeholder={limits ? String(limits[k]) : ""}
                    value={node.limits?.[k] ?? ""}
                    onChange={(e) => {
                      const next: NodeLimits = { ...(node.limits ?? {}) };
                      if (e.target.value === "") delete next[k];
                      else next[k] = Math.min(Number(e.target.value), limits?.[k] ?? Infinity);
                      update({ limits: next }, `limit:${k}`);
                    }}
                  />
                )}
              </Field>
            ))}
          </section>

          <Field label="Notes">
            {(id) => (
              <Textarea
                id={id}
                value={node.notes ?? ""}
                onChange={(e) => update({ notes: e.target.value }, "notes")}
              />
            )}
          </Field>
        </div>
      </fieldset>
    </aside>
  );
}

/** Condition and Switch read their `expression` as CEL over the node's inputs. */
function isExpression(builtin: TemplateInfo["builtin"], param: string): boolean {
  return (builtin === "condition" || builtin === "switch") && param === "expression";
}

function literalText(v: unknown, type: string): string {
  if (v === undefined || v === null) return "";
  if (type === "string" && typeof v === "string") return v;
  return JSON.stringify(v);
}

function parseLiteral(text: string, type: string): unknown {
  if (text === "") return undefined;
  if (type === "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
