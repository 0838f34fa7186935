import { useState } from "react";
import { ApiError, errorMessage, fieldErrors } from "@/shared/api";
import { formatDuration } from "@/shared/lib";
import { Badge, Button, Field, Input, Select, Textarea } from "@/shared/ui";
import {
  ParamField,
  buildSampleInputs,
  initialSampleText,
  readSampleFile,
  useTestTemplate,
  type PortSpec,
  type SampleFile,
  type TemplateSpec,
} from "@/entities/template";
import { LogLines, OutputViewer } from "@/widgets/run-view";

/**
 * "Test node": sample values for every input port and parameter, run the
 * saved version once in its sandbox, show outputs and logs. Unsaved edits
 * are not tested (the server runs stored versions only).
 */
export function TestNodePanel({
  name,
  version,
  spec,
  dirty,
}: {
  name: string;
  version: number;
  spec: TemplateSpec;
  dirty: boolean;
}) {
  const inputs = spec.inputs ?? [];
  const outputs = spec.outputs ?? [];
  const [texts, setTexts] = useState<Record<string, string>>(() =>
    Object.fromEntries(inputs.map((p) => [p.name, initialSampleText(p)])),
  );
  const [files, setFiles] = useState<Record<string, SampleFile | undefined>>({});
  const [params, setParams] = useState<Record<string, unknown>>({});
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const test = useTestTemplate();
  const errors = { ...fieldErrors(test.error), ...localErrors };
  const result = test.data;

  function run() {
    const built = buildSampleInputs(inputs, texts, files);
    setLocalErrors(built.errors);
    if (Object.keys(built.errors).length) return;
    const given = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
    test.mutate({ name, version, inputs: built.inputs, params: given });
  }

  return (
    <div className="grid gap-6 lg:grid-cols-2" data-testid="test-node">
      <section aria-label="Sample values" className="space-y-4">
        <p className="text-xs text-slate-500">
          Runs v{version} once in its sandbox with these values and the template's limits. Nothing
          is stored.
          {dirty && (
            <span className="ml-1 font-medium text-amber-700">
              Unsaved edits are not part of the test; save a new version first.
            </span>
          )}
        </p>
        <div className="space-y-3">
          <h3 className="text-sm font-semibold">Inputs</h3>
          {inputs.length === 0 && <p className="text-xs text-slate-500">No input ports.</p>}
          {inputs.map((p) => (
            <SampleField
              key={p.name}
              port={p}
              text={texts[p.name] ?? ""}
              onText={(t) => setTexts((s) => ({ ...s, [p.name]: t }))}
              file={files[p.name]}
              onFile={(f) => setFiles((s) => ({ ...s, [p.name]: f }))}
              error={errors[`inputs.${p.name}`]}
            />
          ))}
        </div>
        {(spec.parameters ?? []).length > 0 && (
          <div className="space-y-3">
            <h3 className="text-sm font-semibold">Parameters</h3>
            {(spec.parameters ?? []).map((p) => (
              <ParamField
                key={p.name}
                spec={p}
                value={params[p.name]}
                onChange={(v) => setParams((s) => ({ ...s, [p.name]: v }))}
                error={errors[`params.${p.name}`]}
              />
            ))}
          </div>
        )}
        <Button variant="primary" onClick={run} loading={test.isPending}>
          ▶ Run test
        </Button>
        {test.error && !(test.error instanceof ApiError && test.error.status === 422) && (
          <p role="alert" className="text-xs text-rose-600">
            {errorMessage(test.error)}
          </p>
        )}
        {test.error instanceof ApiError && test.error.status === 422 && (
          <p role="alert" className="text-xs text-rose-600">
            {test.error.message}: see the fields above.
          </p>
        )}
      </section>
      <section aria-label="Test result" className="min-w-0 space-y-4" data-testid="test-result">
        {!result ? (
          <p className="text-xs text-slate-500">
            {test.isPending ? "Running…" : "Run the test to see outputs and logs here."}
          </p>
        ) : (
          <>
            <div className="flex items-center gap-2 text-sm">
              <Badge tone={result.status === "succeeded" ? "green" : "rose"}>{result.status}</Badge>
              {result.reason && <span className="text-slate-600">{result.reason}</span>}
              {result.durationMs != null && (
                <span className="text-xs text-slate-500">{formatDuration(result.durationMs)}</span>
              )}
            </div>
            {result.message && (
              <p className="text-xs text-rose-700" data-testid="test-message">
                {result.message}
              </p>
            )}
            {result.traceback && (
              <pre
                className="max-h-60 overflow-auto rounded bg-rose-50 p-2 text-[11px] text-rose-900"
                data-testid="test-traceback"
              >
                {result.traceback}
              </pre>
            )}
            {Object.keys(result.outputs).length > 0 && (
              <div className="space-y-3">
                <h3 className="text-sm font-semibold">Outputs</h3>
                {Object.entries(result.outputs).map(([port, value]) => (
                  <OutputViewer
                    key={port}
                    node="test"
                    port={port}
                    type={outputs.find((o) => o.name === port)?.type}
                    value={value}
                  />
                ))}
              </div>
            )}
            <div className="space-y-1">
              <h3 className="text-sm font-semibold">Logs</h3>
              {result.logs.length ? (
                <LogLines lines={result.logs} testId="test-logs" />
              ) : (
                <p className="text-xs text-slate-500">No log lines.</p>
              )}
            </div>
          </>
        )}
      </section>
    </div>
  );
}

function SampleField({
  port,
  text,
  onText,
  file,
  onFile,
  error,
}: {
  port: PortSpec;
  text: string;
  onText: (t: string) => void;
  file?: SampleFile;
  onFile: (f: SampleFile | undefined) => void;
  error?: string;
}) {
  const label = (
    <>
      {port.name} <span className="font-normal text-slate-500">{port.type}</span>
      {port.required && <span className="text-rose-600"> *</span>}
    </>
  );
  const hint =
    port.type === "array" || port.type === "object" || port.type === "json"
      ? "JSON"
      : port.default !== undefined && port.default !== null
        ? "Empty uses the default."
        : undefined;
  return (
    <Field label={label} error={error} hint={hint}>
      {(id) =>
        port.type === "file" || port.type === "binary" ? (
          <div className="flex items-center gap-2">
            <input
              id={id}
              type="file"
              className="text-xs"
              onChange={async (e) => {
                const f = e.target.files?.[0];
                onFile(f ? await readSampleFile(f) : undefined);
              }}
            />
            {file && <span className="text-xs text-slate-500">{file.name}</span>}
          </div>
        ) : port.type === "boolean" ? (
          <Select id={id} value={text} onChange={(e) => onText(e.target.value)}>
            <option value="">—</option>
            <option value="true">true</option>
            <option value="false">false</option>
          </Select>
        ) : port.type === "number" || port.type === "integer" ? (
          <Input
            id={id}
            type="number"
            step={port.type === "integer" ? 1 : "any"}
            value={text}
            invalid={!!error}
            onChange={(e) => onText(e.target.value)}
          />
        ) : (
          <Textarea
            id={id}
            rows={port.type === "string" ? 2 : 3}
            className="font-mono"
            value={text}
            onChange={(e) => onText(e.target.value)}
          />
        )
      }
    </Field>
  );
}
