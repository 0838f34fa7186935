import { describe, expect, it } from "vitest";
import { addToast, MAX_TOASTS, type Toast } from "./toast";

const add = (list: Toast[], id: number, tone: Toast["tone"], message: string) =>
  addToast(list, { id, tone, message });

describe("addToast", () => {
  it("merges identical messages into one counted toast", () => {
    let l = add([], 1, "error", "Network down");
    l = add(l, 2, "info", "Saved");
    l = add(l, 3, "error", "Network down");
    expect(l.map((t) => [t.message, t.count])).toEqual([
      ["Saved", 1],
      ["Network down", 2],
    ]);
  });

  it("keeps at most three, dropping the oldest non-error first", () => {
    let l = add([], 1, "error", "e1");
    l = add(l, 2, "success", "s1");
    l = add(l, 3, "error", "e2");
    l = add(l, 4, "success", "s2");
    expect(l).toHaveLength(MAX_TOASTS);
    expect(l.map((t) => t.message)).toEqual(["e1", "e2", "s2"]);
  });

  it("drops the oldest error when only errors are shown", () => {
    let l: Toast[] = [];
    for (let i = 1; i <= 4; i++) l = add(l, i, "error", `e${i}`);
    expect(l.map((t) => t.message)).toEqual(["e2", "e3", "e4"]);
  });
});
