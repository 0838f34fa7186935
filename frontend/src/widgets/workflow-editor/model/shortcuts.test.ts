import { describe, expect, it } from "vitest";
import { commandFor } from "./shortcuts";

const key = (
  k: string,
  mods: Partial<{ meta: boolean; ctrl: boolean; shift: boolean; alt: boolean }> = {},
) => ({
  key: k,
  metaKey: !!mods.meta,
  ctrlKey: !!mods.ctrl,
  shiftKey: !!mods.shift,
  altKey: !!mods.alt,
});

describe("editor shortcuts", () => {
  it("use Cmd on macOS and Ctrl elsewhere", () => {
    expect(commandFor(key("z", { meta: true }), true)).toBe("undo");
    expect(commandFor(key("z", { ctrl: true }), true)).toBeNull();
    expect(commandFor(key("z", { ctrl: true }), false)).toBe("undo");
    expect(commandFor(key("z", { meta: true }), false)).toBeNull();
  });
  it("redo is Shift+Mod+Z everywhere and Ctrl+Y off macOS", () => {
    expect(commandFor(key("Z", { meta: true, shift: true }), true)).toBe("redo");
    expect(commandFor(key("y", { ctrl: true }), false)).toBe("redo");
    expect(commandFor(key("y", { meta: true }), true)).toBeNull();
  });
  it("maps copy, paste, duplicate, select all, save and delete", () => {
    expect(["c", "v", "d", "a", "s"].map((k) => commandFor(key(k, { ctrl: true }), false))).toEqual(
      ["copy", "paste", "duplicate", "selectAll", "save"],
    );
    expect(commandFor(key("Delete"), false)).toBe("delete");
    expect(commandFor(key("Backspace"), true)).toBe("delete");
    expect(commandFor(key("c"), false)).toBeNull();
  });
});
