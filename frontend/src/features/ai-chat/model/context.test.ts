import { describe, expect, it } from "vitest";
import { pageContext } from "./context";

describe("pageContext", () => {
  it("reads the workflow, run or open task from the route", () => {
    expect(pageContext("/manager/workflows/12", "")).toEqual({ kind: "workflow", id: 12 });
    expect(pageContext("/admin/runs/7", "")).toEqual({ kind: "run", id: 7 });
    expect(pageContext("/client/runs/3", "?x=1")).toEqual({ kind: "run", id: 3 });
    expect(pageContext("/manager/tasks", "?view=list&task=44")).toEqual({ kind: "task", id: 44 });
  });

  it("is empty elsewhere and for ids that are not ids", () => {
    expect(pageContext("/manager", "")).toBeNull();
    expect(pageContext("/admin/users", "?task=4")).toBeNull();
    expect(pageContext("/manager/tasks", "?task=abc")).toBeNull();
    expect(pageContext("/manager/runs/0", "")).toBeNull();
  });
});
