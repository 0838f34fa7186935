import { describe, expect, it } from "vitest";
import { applyRunEvent, type LiveRun } from "./events";

const empty: LiveRun = { status: "running", nodes: {}, logs: [], connected: true };

describe("applyRunEvent", () => {
  it("tracks node status with start and finish times", () => {
    let s = applyRunEvent(empty, "node", { node: "a", status: "running", attempt: 1 }, 1000);
    expect(s.nodes.a).toMatchObject({ status: "running", attempt: 1, startedAt: 1000 });
    s = applyRunEvent(s, "progress", { node: "a", fraction: 0.5, message: "half" }, 1100);
    expect(s.nodes.a!.progress).toBe(0.5);
    s = applyRunEvent(
      s,
      "node",
      { node: "a", status: "failed", attempt: 1, reason: "timeout" },
      2500,
    );
    expect(s.nodes.a).toMatchObject({
      status: "failed",
      reason: "timeout",
      startedAt: 1000,
      finishedAt: 2500,
    });
  });
  it("appends logs and ends with the run status", () => {
    let s = applyRunEvent(
      empty,
      "log",
      { node: "a", message: "hello", level: "info", stream: "stdout", seq: 3 },
      0,
    );
    expect(s.logs).toEqual([expect.objectContaining({ node: "a", message: "hello", seq: 3 })]);
    s = applyRunEvent(s, "run", { status: "succeeded" }, 0);
    expect(s.status).toBe("succeeded");
    expect(applyRunEvent(s, "unknown", {}, 0)).toBe(s);
  });
});
