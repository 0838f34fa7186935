import { describe, expect, it } from "vitest";
import type { Approval } from "./api";
import { approvalOfNode, decisionSummary, subjectText } from "./model";

const approval = (over: Partial<Approval>): Approval => ({
  id: 1,
  runId: 7,
  nodeId: "approve",
  attempt: 1,
  status: "pending",
  subject: null,
  approvers: [],
  escalated: false,
  createdAt: "2026-01-01T00:00:00Z",
  canDecide: false,
  ...over,
});

describe("approvals", () => {
  it("picks the newest attempt of the node asked for", () => {
    const list = [
      approval({ id: 1, attempt: 1 }),
      approval({ id: 3, nodeId: "other", attempt: 5 }),
      approval({ id: 2, attempt: 2, status: "approved" }),
    ];
    expect(approvalOfNode(list, "approve")?.id).toBe(2);
    expect(approvalOfNode(list, "missing")).toBeUndefined();
  });

  it("says who decided and how", () => {
    expect(decisionSummary({ status: "approved", decidedBy: "noor", decidedVia: "person" })).toBe(
      "Approved by noor",
    );
    expect(decisionSummary({ status: "rejected", decidedBy: null, decidedVia: "timeout" })).toBe(
      "Rejected automatically when the deadline passed",
    );
    expect(decisionSummary({ status: "pending" })).toBe("Waiting for a decision");
    expect(decisionSummary({ status: "cancelled" })).toBe("Cancelled before anyone decided");
  });

  it("shows the subject as indented JSON text, markup and all", () => {
    expect(subjectText({ amount: 1500, note: "<b>hi</b>" })).toBe(
      '{\n  "amount": 1500,\n  "note": "<b>hi</b>"\n}',
    );
    expect(subjectText(undefined)).toBe("null");
  });
});
