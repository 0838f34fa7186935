import { describe, expect, it } from "vitest";
import type { Trigger } from "@/entities/trigger";
import {
  buildTriggerConfig,
  errorKeyFor,
  formFromTrigger,
  newTriggerForm,
  placeServerErrors,
  type TriggerForm,
} from "./form";

const zones = new Set(["UTC", "Europe/Berlin"]);
const isZone = (z: string) => zones.has(z);
const form = (patch: Partial<TriggerForm>): TriggerForm => ({
  ...newTriggerForm(patch.kind ?? "schedule", "Europe/Berlin"),
  ...patch,
});

describe("buildTriggerConfig: schedule", () => {
  it("builds the config with the cron's spaces tidied", () => {
    expect(
      buildTriggerConfig(form({ cron: " 0  9 * * MON-FRI ", missed: "run_once" }), isZone),
    ).toEqual({
      config: {
        kind: "schedule",
        cron: "0 9 * * MON-FRI",
        timezone: "Europe/Berlin",
        missed: "run_once",
        inputs: {},
      },
      errors: {},
    });
  });

  it("refuses a cron without five or six fields and an unknown zone", () => {
    const r = buildTriggerConfig(form({ cron: "0 9 * *", timezone: "Mars/Base" }), isZone);
    expect(r.config).toBeNull();
    expect(Object.keys(r.errors).sort()).toEqual(["cron", "timezone"]);
    expect(buildTriggerConfig(form({ cron: "0 0 9 * * *" }), isZone).errors).toEqual({});
  });

  it("asks for a name", () => {
    expect(buildTriggerConfig(form({ name: "  " }), isZone).errors).toEqual({
      name: "Give the trigger a name.",
    });
  });
});

describe("buildTriggerConfig: webhook", () => {
  it("maps inputs to JSON pointers and skips empty rows", () => {
    const r = buildTriggerConfig(
      form({
        kind: "webhook",
        signed: false,
        ratePerMinute: "10",
        mappings: [
          { target: "rows.text", pointer: " /csv " },
          { target: "", pointer: "" },
          { target: "send.value", pointer: "" },
        ],
      }),
      isZone,
    );
    expect(r).toEqual({
      config: {
        kind: "webhook",
        signed: false,
        ratePerMinute: 10,
        inputs: { "rows.text": "/csv", "send.value": "" },
      },
      errors: {},
    });
  });

  it("points at the row that is wrong", () => {
    const r = buildTriggerConfig(
      form({
        kind: "webhook",
        ratePerMinute: "601",
        mappings: [
          { target: "a.x", pointer: "body" },
          { target: "", pointer: "/y" },
          { target: "b.y", pointer: "/y" },
          { target: "b.y", pointer: "/z" },
        ],
      }),
      isZone,
    );
    expect(r.config).toBeNull();
    expect(Object.keys(r.errors).sort()).toEqual([
      "mapping.0",
      "mapping.1",
      "mapping.3",
      "ratePerMinute",
    ]);
    expect(r.errors["mapping.3"]).toBe("This input is mapped twice.");
  });
});

describe("buildTriggerConfig: event", () => {
  it("sends only the fields the event uses", () => {
    const base = { kind: "event" as const, status: "On Hold", sourceWorkflowId: "4" };
    expect(buildTriggerConfig(form({ ...base, on: "task_created" }), isZone).config).toEqual({
      kind: "event",
      on: "task_created",
    });
    expect(
      buildTriggerConfig(form({ ...base, on: "task_status_changed", input: "t.value" }), isZone)
        .config,
    ).toEqual({ kind: "event", on: "task_status_changed", status: "On Hold", input: "t.value" });
    expect(
      buildTriggerConfig(form({ ...base, on: "run_finished", status: "failed" }), isZone).config,
    ).toEqual({ kind: "event", on: "run_finished", status: "failed", sourceWorkflowId: 4 });
  });

  it("needs a status for a status change and a workflow for a run's end", () => {
    expect(
      buildTriggerConfig(form({ kind: "event", on: "task_status_changed" }), isZone).errors,
    ).toEqual({ status: "Choose the status that fires the trigger." });
    expect(buildTriggerConfig(form({ kind: "event", on: "run_finished" }), isZone).errors).toEqual({
      sourceWorkflowId: "Choose the workflow whose runs are watched.",
    });
  });
});

describe("formFromTrigger", () => {
  const trigger = (config: Trigger["config"]) =>
    ({ id: 1, name: "T", enabled: false, config }) as Trigger;

  it("round-trips each kind through the form", () => {
    for (const config of [
      {
        kind: "schedule" as const,
        cron: "0 8 * * *",
        timezone: "UTC",
        missed: "run_once" as const,
        inputs: { a: { x: 1 } } as unknown as Record<string, never>,
      },
      { kind: "webhook" as const, signed: true, ratePerMinute: 5, inputs: { "a.x": "/x" } },
      { kind: "event" as const, on: "run_finished" as const, sourceWorkflowId: 3, input: "a.x" },
    ]) {
      const f = formFromTrigger(trigger(config), "Europe/Berlin");
      expect(f.name).toBe("T");
      expect(f.enabled).toBe(false);
      expect(buildTriggerConfig(f, isZone).config).toEqual(config);
    }
  });
});

describe("server errors", () => {
  const f = form({
    kind: "webhook",
    mappings: [
      { target: "a.x", pointer: "/x" },
      { target: "b.y", pointer: "/y" },
    ],
  });

  it("lands next to the field they name", () => {
    expect(errorKeyFor("config.cron", f)).toBe("cron");
    expect(errorKeyFor("config.status", f)).toBe("status");
    expect(errorKeyFor("name", f)).toBe("name");
    expect(errorKeyFor("config.inputs.b.y", f)).toBe("mapping.1");
    expect(errorKeyFor("config.inputs.c.z", f)).toBe("mappings");
    expect(errorKeyFor("config.weird", f)).toBe("form");
  });

  it("joins several on one field and names the field of a stray one", () => {
    expect(
      placeServerErrors(
        { "config.inputs.a.x": "is wrong", "config.inputs": "too many", "config.x": "odd" },
        f,
      ),
    ).toEqual({ "mapping.0": "is wrong", mappings: "too many", form: "config.x: odd" });
  });
});
