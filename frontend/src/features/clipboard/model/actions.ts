import type { Graph } from "@/entities/workflow";
import { toast } from "@/shared/ui";
import {
  CLIPBOARD_KEY,
  copiedMessage,
  parseClipboard,
  toClipboard,
  type Clipboard,
} from "./clipboard";

/** Puts copied nodes on the local and the system clipboard; nothing happens without any. */
export function copyNodes(fragment: Graph | null): void {
  if (!fragment) return;
  const text = JSON.stringify(toClipboard(fragment));
  localStorage.setItem(CLIPBOARD_KEY, text);
  navigator.clipboard?.writeText(text).catch(() => {});
  toast.info(copiedMessage(fragment.nodes.length));
}

/**
 * Hands the copied nodes to `paste`. Reads the local copy, not the system
 * clipboard, so pasting needs no permission prompt.
 */
export function pasteNodes(paste: (clip: Clipboard) => void): void {
  const clip = parseClipboard(localStorage.getItem(CLIPBOARD_KEY));
  if (!clip) return;
  try {
    paste(clip);
  } catch {
    /* malformed data from another version: ignore it like foreign data */
  }
}
