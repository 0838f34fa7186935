import { create } from "zustand";
import type { CreatedTrigger } from "../api";

/** A webhook's credentials, as the server shows them once, when the trigger is made. */
export interface RevealedWebhook {
  triggerId: number;
  name: string;
  webhookPath: string;
  signingKey: string | null;
}

/** The webhooks among freshly created triggers; others have nothing to reveal. */
export function revealedWebhooks(created: CreatedTrigger[]): RevealedWebhook[] {
  return created
    .filter((c) => !!c.webhookPath)
    .map((c) => ({
      triggerId: c.trigger.id,
      name: c.trigger.name,
      webhookPath: c.webhookPath!,
      signingKey: c.signingKey ?? null,
    }));
}

/**
 * Credentials waiting to be shown. Kept in memory only (never in the URL,
 * history state or storage) and forgotten when the dialog closes, so they
 * survive the move from the gallery into the editor and nothing more.
 */
export const useRevealedWebhooks = create<{
  items: RevealedWebhook[];
  reveal: (created: CreatedTrigger[]) => void;
  forget: () => void;
}>((set) => ({
  items: [],
  reveal: (created) => {
    const items = revealedWebhooks(created);
    if (items.length) set((s) => ({ items: [...s.items, ...items] }));
  },
  forget: () => set({ items: [] }),
}));
