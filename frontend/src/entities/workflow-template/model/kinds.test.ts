import { describe, expect, it } from "vitest";
import {
  canDeleteTemplate,
  nodeKindLabel,
  sortNodeKinds,
  templateBadges,
  triggerKindLabel,
} from "./kinds";

describe("nodeKindLabel", () => {
  it("names the platform's flow nodes by their title", () => {
    expect(
      ["flow.condition", "flow.approval", "flow.notification", "flow.task", "flow.wait"].map(
        nodeKindLabel,
      ),
    ).toEqual(["Condition", "Approval", "Notification", "Task", "Wait"]);
  });

  it("capitalises a flow node it does not know and keeps library names", () => {
    expect(nodeKindLabel("flow.query")).toBe("Query");
    expect(nodeKindLabel("csv.read")).toBe("csv.read");
  });
});

describe("sortNodeKinds", () => {
  it("puts flow nodes first and drops repeats", () => {
    expect(
      sortNodeKinds(["table.filter", "flow.notification", "csv.read", "flow.approval", "csv.read"]),
    ).toEqual(["flow.approval", "flow.notification", "csv.read", "table.filter"]);
  });
});

describe("triggerKindLabel", () => {
  it("names the three kinds", () => {
    expect(["schedule", "webhook", "event", "other"].map(triggerKindLabel)).toEqual([
      "Schedule",
      "Webhook",
      "Event",
      "other",
    ]);
  });
});

describe("templateBadges", () => {
  it("marks shipped templates as shipped only, even though every manager sees them", () => {
    expect(templateBadges({ builtin: true, shared: true, ownerId: null }, 7)).toEqual(["shipped"]);
  });

  it("marks the caller's own templates, shared or not", () => {
    expect(templateBadges({ builtin: false, shared: true, ownerId: 7 }, 7)).toEqual([
      "shared",
      "mine",
    ]);
    expect(templateBadges({ builtin: false, shared: false, ownerId: 7 }, 7)).toEqual(["mine"]);
    expect(templateBadges({ builtin: false, shared: true, ownerId: 3 }, 7)).toEqual(["shared"]);
  });
});

describe("canDeleteTemplate", () => {
  const manager = { id: 7, role: "manager" };
  it("lets owners and admins delete, never a shipped template", () => {
    expect(canDeleteTemplate({ builtin: false, ownerId: 7 }, manager)).toBe(true);
    expect(canDeleteTemplate({ builtin: false, ownerId: 3 }, manager)).toBe(false);
    expect(canDeleteTemplate({ builtin: false, ownerId: 3 }, { id: 1, role: "admin" })).toBe(true);
    expect(canDeleteTemplate({ builtin: true, ownerId: null }, { id: 1, role: "admin" })).toBe(
      false,
    );
    expect(canDeleteTemplate({ builtin: false, ownerId: 7 }, null)).toBe(false);
  });
});
