import { describe, expect, it } from "vitest";
import { ApiError } from "@/shared/api";
import { importErrorMessage } from "./outcome";

describe("importErrorMessage", () => {
  it("names the place of a manifest mistake", () => {
    const e = new ApiError(422, "invalid_manifest", "unknown field `nodez`", {
      line: 4,
      column: 3,
    });
    expect(importErrorMessage(e, "a.yaml")).toBe(
      "a.yaml is not a valid Workflow manifest (line 4, column 3): unknown field `nodez`",
    );
  });

  it("explains a name taken by a cluster-managed workflow and an unknown client", () => {
    expect(
      importErrorMessage(new ApiError(409, "workflow_managed_in_cluster", "x"), "a.yaml"),
    ).toMatch(/managed in the cluster/);
    expect(importErrorMessage(new ApiError(404, "not_found", "x"), "a.yaml")).toMatch(
      /client .* you do not work for/,
    );
  });

  it("falls back to the server's message", () => {
    expect(importErrorMessage(new ApiError(500, "internal", "down"), "a.yaml")).toBe(
      "a.yaml was not imported: down",
    );
  });
});
