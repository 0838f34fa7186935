import { describe, expect, it } from "vitest";
import { nodeStatusLine, skipReasonLabel } from "./node-status";

const now = Date.parse("2026-01-01T00:01:00Z");
const t = (iso: string) => Date.parse(iso);

describe("node status line", () => {
  it("says why a skipped node never ran, never that it waits", () => {
    expect(nodeStatusLine({ status: "skipped", attempt: 0, reason: "branch" }, now)).toBe(
      "skipped · branch not taken",
    );
    expect(nodeStatusLine({ status: "skipped", attempt: 0, reason: "upstream_failed" }, now)).toBe(
      "skipped · upstream failed",
    );
    expect(nodeStatusLine({ status: "skipped", attempt: 0 }, now)).toBe("skipped");
    expect(skipReasonLabel("output_size")).toBe("output size");
  });

  it("calls a node that has not started pending, with its place in the queue", () => {
    expect(nodeStatusLine({ status: "pending", attempt: 0 }, now)).toBe("pending");
    expect(nodeStatusLine({ status: "queued", attempt: 0, queuePosition: 2 }, now)).toBe(
      "queued · #2 in the queue",
    );
    expect(nodeStatusLine({ status: "pending", attempt: 2, reason: "timeout" }, now)).toBe(
      "pending · attempt 2",
    );
  });

  it("shows what a waiting node waits for and for how long", () => {
    const startedAt = t("2026-01-01T00:00:30Z");
    expect(
      nodeStatusLine(
        { status: "waiting", attempt: 1, message: "waiting for noah", startedAt },
        now,
      ),
    ).toBe("waiting for noah · 30.0 s");
    expect(
      nodeStatusLine(
        { status: "waiting", attempt: 1, message: "escalated; waiting for ada", startedAt },
        now,
      ),
    ).toBe("waiting · escalated; waiting for ada · 30.0 s");
    expect(nodeStatusLine({ status: "waiting", attempt: 1 }, now)).toBe("waiting");
  });

  it("shows the duration of a node that ran, with its attempt and failure reason", () => {
    const startedAt = t("2026-01-01T00:00:58Z");
    const finishedAt = t("2026-01-01T00:00:59.5Z");
    expect(nodeStatusLine({ status: "succeeded", attempt: 1, startedAt, finishedAt }, now)).toBe(
      "1.5 s",
    );
    expect(
      nodeStatusLine(
        { status: "failed", attempt: 3, reason: "output_type", startedAt, finishedAt },
        now,
      ),
    ).toBe("1.5 s · output type · attempt 3");
    expect(nodeStatusLine({ status: "running", attempt: 1, startedAt }, now)).toBe("2.0 s");
    expect(nodeStatusLine({ status: "cancelled", attempt: 0, reason: "cancelled" }, now)).toBe(
      "cancelled before it ran",
    );
  });
});
