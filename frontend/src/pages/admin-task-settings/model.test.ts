import { describe, expect, it } from "vitest";
import { edge, fromDraft, moveStatus, toDraft } from "./model";

const settings = {
  statuses: [
    { id: 1, name: "New", isDone: false },
    { id: 2, name: "Done", isDone: true },
  ],
  transitions: [{ from: "New", to: "Done" }],
  slaTargets: [
    { priority: "critical" as const, targetMinutes: 240 },
    { priority: "low" as const, targetMinutes: null },
  ],
  attachmentMaxBytes: 10 * 2 ** 20,
};

describe("task settings draft", () => {
  it("round-trips, and a renamed status keeps its transitions", () => {
    const d = toDraft(settings);
    expect(d.sla.critical).toBe("4");
    expect(d.attachmentMb).toBe("10");
    expect(d.transitions.has(edge("s1", "s2"))).toBe(true);
    d.statuses[0]!.name = " Open ";
    const { body } = fromDraft(d);
    expect(body.statuses[0]).toEqual({ id: 1, name: "Open", isDone: false });
    expect(body.transitions).toEqual([{ from: "Open", to: "Done" }]);
    expect(body.slaTargets.find((t) => t.priority === "critical")?.targetMinutes).toBe(240);
    expect(body.slaTargets.find((t) => t.priority === "low")?.targetMinutes).toBeNull();
    expect(body.attachmentMaxBytes).toBe(10 * 2 ** 20);
  });

  it("drops transitions of removed statuses and reorders", () => {
    const d = toDraft(settings);
    d.statuses = d.statuses.filter((s) => s.key !== "s2");
    expect(fromDraft(d).body.transitions).toEqual([]);
    const two = toDraft(settings).statuses;
    expect(moveStatus(two, 1, -1).map((s) => s.name)).toEqual(["Done", "New"]);
    expect(moveStatus(two, 0, -1)).toBe(two);
  });
});
