import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { afterEach, describe, expect, it } from "vitest";
import { CommentForm } from "./index";

afterEach(cleanup);

/** Types one character where the caret is, as the browser does. */
function type(box: HTMLTextAreaElement, ch: string) {
  const at = box.selectionStart;
  const value = box.value.slice(0, at) + ch + box.value.slice(box.selectionEnd);
  fireEvent.change(box, { target: { value } });
  box.setSelectionRange(at + 1, at + 1);
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

describe("CommentForm", () => {
  it("keeps what is typed right after a mention is chosen in order", async () => {
    render(
      <QueryClientProvider client={new QueryClient()}>
        <CommentForm taskId={1} people={[{ id: 3, username: "acme", name: "Acme Ltd" }]} />
      </QueryClientProvider>,
    );
    const box = screen.getByLabelText("Comment") as HTMLTextAreaElement;
    fireEvent.change(box, { target: { value: "Please check @ac" } });
    expect(screen.getByRole("option", { name: /acme/ })).toBeTruthy();
    fireEvent.keyDown(box, { key: "Enter" });
    expect(box.value).toBe("Please check @acme ");
    expect(box.selectionStart).toBe("Please check @acme ".length);
    // A fast typist: one key before the next frame, one after it.
    type(box, "b");
    await nextFrame();
    await nextFrame();
    type(box, "e");
    expect(box.value).toBe("Please check @acme be");
  });
});
