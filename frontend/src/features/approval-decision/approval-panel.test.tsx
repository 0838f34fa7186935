import { cleanup, render, screen } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it } from "vitest";
import type { Approval } from "@/entities/approval";
import { ApprovalPanel } from "./approval-panel";

afterEach(cleanup);

const base: Approval = {
  id: 4,
  runId: 9,
  nodeId: "approve",
  attempt: 1,
  status: "pending",
  subject: { amount: 1500, note: "<img src=x onerror=alert(1)>" },
  approvers: [
    { id: 2, username: "noor", escalation: false },
    { id: 3, username: "ada", escalation: true },
  ],
  escalated: true,
  deadline: null,
  createdAt: "2026-01-01T00:00:00Z",
  canDecide: true,
};

function show(approval: Approval, runHref?: string) {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter>
        <ApprovalPanel approval={approval} target={{ approvalId: approval.id }} runHref={runHref} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("ApprovalPanel", () => {
  it("offers Approve and Reject to an approver while it is pending, and marks escalation approvers", () => {
    show(base, "/manager/runs/9");
    expect(screen.getByRole("button", { name: "Approve" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Reject" })).toBeTruthy();
    expect(screen.getByTestId("approval-approvers").textContent).toBe("noorada (escalation)");
    expect(screen.getByText("escalated")).toBeTruthy();
    expect(screen.getByTestId("approval-run-link").getAttribute("href")).toBe("/manager/runs/9");
  });

  it("shows the value under review as text, never as markup", () => {
    show(base);
    const subject = screen.getByTestId("approval-subject");
    expect(JSON.parse(subject.textContent!)).toEqual(base.subject);
    expect(subject.querySelector("img")).toBeNull();
  });

  it("shows no buttons to someone who may only look", () => {
    show({ ...base, canDecide: false });
    expect(screen.queryByRole("button", { name: "Approve" })).toBeNull();
    expect(screen.getByTestId("approval-not-yours").textContent).toBe(
      "Only noor, ada and admins can decide.",
    );
  });

  it("after the decision says who decided, how, and the comment, with no buttons", () => {
    show({
      ...base,
      status: "rejected",
      decidedBy: "noor",
      decidedVia: "person",
      decidedAt: "2026-01-01T01:00:00Z",
      comment: "Too <b>much</b>",
    });
    expect(screen.queryByRole("button", { name: "Reject" })).toBeNull();
    expect(screen.getByTestId("approval-decision").textContent).toMatch(/^Rejected by noor · /);
    expect(screen.getByTestId("approval-comment").textContent).toBe("Too <b>much</b>");
    expect(screen.getByTestId("approval-comment").querySelector("b")).toBeNull();
  });
});
