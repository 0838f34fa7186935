/** macOS users press Cmd where everyone else presses Ctrl. */
export const isMac =
  typeof navigator !== "undefined" &&
  /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

/** The label of the primary modifier key on this platform. */
export const modKeyLabel = isMac ? "⌘" : "Ctrl";

/** Whether the platform's primary modifier (Cmd on macOS, Ctrl elsewhere) is held. */
export function hasModKey(
  e: { metaKey: boolean; ctrlKey: boolean },
  mac: boolean = isMac,
): boolean {
  return mac ? e.metaKey : e.ctrlKey;
}

/** Keyboard focus is in a text field, where editor shortcuts must not fire. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return (
    target.isContentEditable ||
    target.tagName === "INPUT" ||
    target.tagName === "TEXTAREA" ||
    target.tagName === "SELECT" ||
    target.closest(".cm-editor") != null
  );
}
