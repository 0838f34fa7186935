import { describe, expect, it } from "vitest";
import { ApiError } from "@/shared/api";
import { decisionErrorMessage } from "./use-decide";

describe("decision errors", () => {
  it("explains a refusal by its status", () => {
    expect(decisionErrorMessage(new ApiError(403, "forbidden", "forbidden"))).toMatch(
      /only its approvers and admins/,
    );
    expect(decisionErrorMessage(new ApiError(409, "conflict", "already approved by noor"))).toBe(
      "Too late: already approved by noor.",
    );
    expect(decisionErrorMessage(new ApiError(404, "not_found", "not found"))).toMatch(
      /not visible to you/,
    );
    expect(decisionErrorMessage(new Error("offline"))).toBe("offline");
  });
});
