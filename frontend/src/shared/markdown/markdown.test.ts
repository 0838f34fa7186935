import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./index";

describe("renderMarkdown", () => {
  it("renders Markdown", () => {
    expect(renderMarkdown("**bold** and `code`")).toContain("<strong>bold</strong>");
  });

  it("shows raw HTML as text and never keeps handlers or scripts", () => {
    const html = renderMarkdown('<img src=x onerror="window.pwned=1"> <script>alert(1)</script>');
    expect(html).not.toMatch(/<img|<script/i);
    expect(html).toContain("&lt;img");
    const div = document.createElement("div");
    div.innerHTML = html;
    expect(div.querySelector("img, script, [onerror]")).toBeNull();
  });

  it("drops javascript: links and opens others safely", () => {
    expect(renderMarkdown("[x](javascript:alert(1))")).not.toContain("javascript:");
    const link = renderMarkdown("[site](https://example.com)");
    expect(link).toContain('rel="noopener noreferrer"');
    expect(link).toContain('href="https://example.com"');
  });

  it("drops Markdown images", () => {
    expect(renderMarkdown("![a](https://example.com/a.png)")).not.toContain("<img");
  });
});
