import { describe, expect, it } from "vitest";
import { neutralizeCell, toCsv } from "./csv";

describe("csv", () => {
  it("neutralizes cells a spreadsheet would evaluate", () => {
    for (const bad of ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"])
      expect(neutralizeCell(bad)).toBe(`'${bad}`);
    for (const ok of ["plain", "1+1", "", "a=b"]) expect(neutralizeCell(ok)).toBe(ok);
  });
  it("quotes separators and keeps numbers as numbers", () => {
    expect(
      toCsv(
        ["name", "count"],
        [
          ["Acme, Inc", 3],
          ['say "hi"', -1],
          ["=HYPERLINK()", null],
        ],
      ),
    ).toBe('name,count\r\n"Acme, Inc",3\r\n"say ""hi""",-1\r\n\'=HYPERLINK(),\r\n');
  });
});
