import { describe, expect, it } from "vitest";
import { ApiError } from "@/shared/api";
import { clusterRefusal, conflictFrom, savedMessage } from "./outcome";

describe("conflictFrom", () => {
  it("takes the winning revision from a 409", () => {
    const e = new ApiError(409, "conflict", "changed", { currentRevision: 7 });
    expect(conflictFrom(e, 4)).toEqual({ currentRevision: 7 });
  });

  it("guesses the next revision when the server does not name one", () => {
    expect(conflictFrom(new ApiError(409, "conflict", "changed"), 4)).toEqual({
      currentRevision: 5,
    });
  });

  it("is no conflict for other failures", () => {
    expect(conflictFrom(new ApiError(422, "invalid", "bad"), 4)).toBeNull();
    expect(conflictFrom(new ApiError(500, "oops", "down"), 4)).toBeNull();
    expect(conflictFrom(new Error("offline"), 4)).toBeNull();
  });
});

describe("clusterRefusal", () => {
  it("explains a save refused because the cluster owns the workflow", () => {
    const e = new ApiError(409, "workflow_managed_in_cluster", "managed");
    expect(clusterRefusal(e)).toMatch(/managed in the cluster/);
    expect(conflictFrom(e, 4)).toBeNull();
  });

  it("explains a write-back that lost to a cluster change", () => {
    const e = new ApiError(409, "cluster_conflict", "changed");
    expect(clusterRefusal(e)).toMatch(/changed since you opened it/);
    expect(conflictFrom(e, 4)).toBeNull();
  });

  it("leaves revision conflicts and other errors alone", () => {
    expect(clusterRefusal(new ApiError(409, "conflict", "changed"))).toBeNull();
    expect(clusterRefusal(new ApiError(500, "workflow_managed_in_cluster", "x"))).toBeNull();
    expect(clusterRefusal(new Error("offline"))).toBeNull();
  });
});

describe("savedMessage", () => {
  it("counts only errors among the saved problems", () => {
    expect(savedMessage({ revision: 3 })).toBe("Saved revision 3.");
    expect(savedMessage({ revision: 3, problems: [{ severity: "warning" }] })).toBe(
      "Saved revision 3.",
    );
    expect(savedMessage({ revision: 3, problems: [{ severity: "error" }] })).toBe(
      "Saved revision 3 with 1 problem.",
    );
    expect(
      savedMessage({ revision: 4, problems: [{ severity: "error" }, { severity: "error" }] }),
    ).toBe("Saved revision 4 with 2 problems.");
  });
});
