import * as Tabs from "@radix-ui/react-tabs";
import { CodeEditor } from "@/shared/code";
import type { TemplateSpec } from "@/entities/template";
import type { SetSpecField, TestPanel } from "../model/types";
import { ContractHelp } from "./contract-help";
import { ParamsEditor } from "./params-editor";
import { PortsEditor } from "./ports-editor";
import { RuntimeFields } from "./runtime-fields";
import { VersionHistory } from "./version-history";

const TAB_CLASS =
  "-mb-px border-b-2 border-transparent px-3 py-2 text-sm text-slate-600 data-[state=active]:border-indigo-600 data-[state=active]:font-medium data-[state=active]:text-indigo-700";

/** Code, ports, parameters and runtime; history and testing once the node is stored. */
export function SectionTabs({
  spec,
  set,
  errors,
  initial,
  isNew,
  version,
  deleted,
  dirty,
  testPanel,
}: {
  spec: TemplateSpec;
  set: SetSpecField;
  errors: Record<string, string>;
  initial: TemplateSpec;
  isNew: boolean;
  version?: number;
  deleted: boolean;
  dirty: boolean;
  testPanel?: TestPanel;
}) {
  // Only a stored, live version can be tested: the server runs stored versions only.
  const testable = !isNew && version != null && !deleted;
  const tabs = [
    ["code", "Code"],
    ["ports", `Inputs & outputs (${spec.inputs?.length ?? 0}/${spec.outputs?.length ?? 0})`],
    ["params", `Parameters (${spec.parameters?.length ?? 0})`],
    ["runtime", "Runtime & limits"],
    ...(isNew ? [] : [["history", "Version history"]]),
    ...(testable ? [["test", "Test node"]] : []),
  ];
  return (
    <Tabs.Root defaultValue="code">
      <Tabs.List className="flex gap-1 border-b border-slate-200" aria-label="Node sections">
        {tabs.map(([v, l]) => (
          <Tabs.Trigger key={v} value={v!} className={TAB_CLASS}>
            {l}
          </Tabs.Trigger>
        ))}
      </Tabs.List>
      <Tabs.Content value="code" className="pt-4">
        <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
          <CodeEditor label="Python code" value={spec.code} onChange={(v) => set("code", v)} />
          <ContractHelp spec={spec} />
        </div>
        {errors.code && <p className="mt-1 text-xs text-rose-600">{errors.code}</p>}
      </Tabs.Content>
      <Tabs.Content value="ports" className="grid gap-6 pt-4 md:grid-cols-2">
        <PortsEditor
          title="Inputs"
          ports={spec.inputs ?? []}
          onChange={(p) => set("inputs", p)}
          prefix="inputs"
          errors={errors}
        />
        <PortsEditor
          title="Outputs"
          ports={spec.outputs ?? []}
          onChange={(p) => set("outputs", p)}
          prefix="outputs"
          errors={errors}
        />
      </Tabs.Content>
      <Tabs.Content value="params" className="pt-4">
        <ParamsEditor
          params={spec.parameters ?? []}
          onChange={(p) => set("parameters", p)}
          errors={errors}
        />
      </Tabs.Content>
      <Tabs.Content value="runtime" className="grid max-w-3xl gap-3 pt-4 md:grid-cols-3">
        <RuntimeFields spec={spec} set={set} errors={errors} />
      </Tabs.Content>
      {!isNew && (
        <Tabs.Content value="history" className="pt-4">
          <VersionHistory name={spec.name} current={initial.code} />
        </Tabs.Content>
      )}
      {testable && (
        // Kept mounted, so sample values and the last result survive a look at the code.
        <Tabs.Content value="test" forceMount className="pt-4 data-[state=inactive]:hidden">
          {testPanel?.({ name: initial.name, version, spec: initial, dirty })}
        </Tabs.Content>
      )}
    </Tabs.Root>
  );
}
