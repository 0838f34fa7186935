import { describe, expect, it } from "vitest";
import { lineErrors, parseAllowList } from "./webhooks";

describe("webhook allow-list", () => {
  it("is sent trimmed, sorted and without blanks or repeats, as the server stores it", () => {
    expect(
      parseAllowList(
        "  https://hooks.slack.com/services/ \n\nhttps://chat.example.com/\nhttps://hooks.slack.com/services/",
      ),
    ).toEqual(["https://chat.example.com/", "https://hooks.slack.com/services/"]);
  });

  it("puts each refused entry back on its line", () => {
    const text =
      "https://ok.example.com/\n\nftp://files.example.com/\nhttps://user:pw@x.example/\nftp://files.example.com/";
    const sent = parseAllowList(text);
    expect(sent).toEqual([
      "ftp://files.example.com/",
      "https://ok.example.com/",
      "https://user:pw@x.example/",
    ]);
    const errors = lineErrors(text, sent, {
      "allowed[0]": "must be an http(s) URL",
      "allowed[2]": "no credentials",
      name: "ignored",
    });
    expect(errors).toEqual([
      { line: 3, entry: "ftp://files.example.com/", message: "must be an http(s) URL" },
      { line: 4, entry: "https://user:pw@x.example/", message: "no credentials" },
      { line: 5, entry: "ftp://files.example.com/", message: "must be an http(s) URL" },
    ]);
  });
});
