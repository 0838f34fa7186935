// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { Component, type ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { importOnce } from "./use-imported";

afterEach(cleanup);

class Boundary extends Component<{ children: ReactNode }, { error: string | null }> {
  state = { error: null as string | null };
  static getDerivedStateFromError(e: Error) {
    return { error: e.message };
  }
  render() {
    return this.state.error ? <p>failed: {this.state.error}</p> : this.props.children;
  }
}

describe("importOnce", () => {
  it("imports once, renders the module when it arrives, and at once afterwards", async () => {
    const load = vi.fn(async () => ({ Hello: () => <p>hello</p> }));
    const useMod = importOnce(load);
    function Host() {
      const m = useMod();
      return m ? <m.Hello /> : <p>loading</p>;
    }
    render(<Host />);
    expect(screen.getByText("loading")).toBeTruthy();
    await screen.findByText("hello");
    cleanup();
    render(<Host />);
    // Already there: the first render shows it, without a loading state.
    expect(screen.getByText("hello")).toBeTruthy();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("renders a preloaded module on the first render", async () => {
    const load = vi.fn(async () => ({ Hello: () => <p>hello</p> }));
    const useMod = importOnce(load);
    useMod.preload();
    await Promise.resolve();
    await Promise.resolve();
    function Host() {
      const m = useMod();
      return m ? <m.Hello /> : <p>loading</p>;
    }
    render(<Host />);
    expect(screen.getByText("hello")).toBeTruthy();
    useMod.preload();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("throws a failed import to the error boundary", async () => {
    const useMod = importOnce(() => Promise.reject(new Error("chunk gone")));
    function Host() {
      return useMod() ? <p>never</p> : <p>loading</p>;
    }
    vi.spyOn(console, "error").mockImplementation(() => {});
    render(
      <Boundary>
        <Host />
      </Boundary>,
    );
    await screen.findByText("failed: chunk gone");
  });
});
