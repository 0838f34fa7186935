import { describe, expect, it } from "vitest";
import { describeTrigger } from "./describe";
import { revealedWebhooks } from "./revealed";
import type { CreatedTrigger, Trigger } from "../api";

describe("describeTrigger", () => {
  it("says when a schedule fires and what happens to a missed time", () => {
    expect(
      describeTrigger({ kind: "schedule", cron: "0 9 * * MON-FRI", timezone: "Europe/Berlin" }),
    ).toBe("0 9 * * MON-FRI in Europe/Berlin");
    expect(
      describeTrigger({ kind: "schedule", cron: "0 9 * * *", timezone: "UTC", missed: "run_once" }),
    ).toBe("0 9 * * * in UTC; a missed time runs once");
  });

  it("sums up a webhook", () => {
    expect(
      describeTrigger({
        kind: "webhook",
        signed: true,
        ratePerMinute: 10,
        inputs: { "a.x": "/x", "b.y": "" },
      }),
    ).toBe("signed, up to 10 calls a minute, 2 inputs mapped");
    expect(describeTrigger({ kind: "webhook" })).toBe(
      "unsigned, up to 60 calls a minute, no inputs mapped",
    );
  });

  it("names the event, its status and the watched workflow", () => {
    expect(describeTrigger({ kind: "event", on: "task_created" })).toBe("when a task is created");
    expect(
      describeTrigger({
        kind: "event",
        on: "task_status_changed",
        status: "On Hold",
        input: "follow_up.value",
      }),
    ).toBe("when a task reaches On Hold, into follow_up.value");
    expect(
      describeTrigger(
        { kind: "event", on: "run_finished", sourceWorkflowId: 4, status: "failed" },
        (id) => `Import #${id}`,
      ),
    ).toBe("when a run of Import #4 failed");
    expect(describeTrigger({ kind: "event", on: "run_finished" })).toBe(
      "when a run of a workflow finishes",
    );
  });
});

describe("revealedWebhooks", () => {
  const trigger = (id: number, name: string) => ({ id, name }) as Trigger;
  it("keeps only the webhooks, with their path and key", () => {
    const created: CreatedTrigger[] = [
      { trigger: trigger(1, "Every morning"), webhookPath: null, signingKey: null },
      { trigger: trigger(2, "Orders"), webhookPath: "/api/hooks/abc", signingKey: "k" },
      { trigger: trigger(3, "Open"), webhookPath: "/api/hooks/def" },
    ];
    expect(revealedWebhooks(created)).toEqual([
      { triggerId: 2, name: "Orders", webhookPath: "/api/hooks/abc", signingKey: "k" },
      { triggerId: 3, name: "Open", webhookPath: "/api/hooks/def", signingKey: null },
    ]);
  });
});

describe("import events", () => {
  it("say which outcome they wait for", () => {
    expect(describeTrigger({ kind: "event", on: "import_finished", status: "failed" })).toBe(
      "when a task import fails",
    );
    expect(describeTrigger({ kind: "event", on: "import_finished", input: "a.event" })).toBe(
      "when a task import finishes, into a.event",
    );
  });
});
