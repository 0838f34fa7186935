import { describe, expect, it } from "vitest";
import { notificationKindLabel } from "./types";

describe("notification kinds", () => {
  it("have labels for people, new kinds included", () => {
    expect(notificationKindLabel("workflow")).toBe("Workflow notifications");
    expect(notificationKindLabel("sla_breached")).toBe("SLA breached");
    expect(notificationKindLabel("some_future_kind")).toBe("some future kind");
  });
});
