import { useMemo } from "react";
import DOMPurify from "dompurify";
import { Marked } from "marked";
import { cn } from "../lib";

const marked = new Marked({ gfm: true, breaks: true, async: false });
// Raw HTML in the source is shown as text, never passed through.
marked.use({
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
  },
});

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

let hooked = false;
function purifier() {
  if (!hooked) {
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
    hooked = true;
  }
  return DOMPurify;
}

/**
 * Markdown to safe HTML: raw HTML in the source is escaped by the renderer,
 * and the result is sanitized again (no scripts, event handlers, `style`,
 * images or forms; only http(s)/mailto links, opened with
 * `rel="noopener noreferrer"`).
 */
export function renderMarkdown(source: string): string {
  const html = marked.parse(source) as string;
  return purifier().sanitize(html, {
    ALLOWED_TAGS: [
      "p",
      "br",
      "strong",
      "em",
      "del",
      "code",
      "pre",
      "blockquote",
      "ul",
      "ol",
      "li",
      "a",
      "h1",
      "h2",
      "h3",
      "h4",
      "h5",
      "h6",
      "hr",
      "table",
      "thead",
      "tbody",
      "tr",
      "th",
      "td",
      "input",
    ],
    ALLOWED_ATTR: ["href", "title", "type", "checked", "disabled"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  });
}

export function Markdown({ source, className }: { source: string; className?: string }) {
  const html = useMemo(() => renderMarkdown(source), [source]);
  return (
    <div
      className={cn("markdown text-sm leading-relaxed text-slate-800", className)}
      // Sanitized above: raw HTML escaped by the renderer, then DOMPurify.
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
