import { create } from "zustand";
import { errorMessage } from "../api";
import { cn } from "../lib";

type Tone = "success" | "error" | "info";
export interface Toast {
  id: number;
  tone: Tone;
  message: string;
  /** How many identical toasts this one stands for. */
  count: number;
}

/** At most this many toasts are on screen; older ones make room. */
export const MAX_TOASTS = 3;
/** Successes and notices fade after this long; errors stay until dismissed. */
export const FADE_MS = 5000;

/**
 * Adds a toast: an identical one (same tone and message) is merged into the
 * existing one, which counts it and moves to the end; beyond `MAX_TOASTS` the
 * oldest non-error toast goes first (errors wait to be read), then the oldest.
 */
export function addToast(toasts: Toast[], t: Omit<Toast, "count">): Toast[] {
  const same = toasts.find((x) => x.tone === t.tone && x.message === t.message);
  const next = same
    ? [...toasts.filter((x) => x !== same), { ...same, id: t.id, count: same.count + 1 }]
    : [...toasts, { ...t, count: 1 }];
  while (next.length > MAX_TOASTS) {
    const i = next.findIndex((x) => x.tone !== "error");
    next.splice(i >= 0 && i < next.length - 1 ? i : 0, 1);
  }
  return next;
}

let nextId = 1;
const useToasts = create<{
  toasts: Toast[];
  push: (t: Omit<Toast, "id" | "count">) => void;
  dismiss: (id: number) => void;
}>((set) => ({
  toasts: [],
  push: (t) => {
    const id = nextId++;
    set((s) => ({ toasts: addToast(s.toasts, { ...t, id }) }));
    if (t.tone !== "error")
      setTimeout(() => set((s) => ({ toasts: s.toasts.filter((x) => x.id !== id) })), FADE_MS);
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((x) => x.id !== id) })),
}));

export const toast = {
  success: (message: string) => useToasts.getState().push({ tone: "success", message }),
  info: (message: string) => useToasts.getState().push({ tone: "info", message }),
  /** Shows the server's own error message. */
  error: (error: unknown) =>
    useToasts.getState().push({ tone: "error", message: errorMessage(error) }),
};

export function Toaster() {
  const { toasts, dismiss } = useToasts();
  return (
    <div
      className="pointer-events-none fixed bottom-4 right-4 z-[60] flex w-96 flex-col gap-2"
      aria-live="polite"
    >
      {toasts.map((t) => (
        <div
          key={t.id}
          role={t.tone === "error" ? "alert" : "status"}
          data-testid={`toast-${t.tone}`}
          className={cn(
            "pointer-events-auto flex items-start gap-3 rounded-lg border bg-white p-3 text-sm shadow-lg",
            t.tone === "error" && "border-rose-200",
            t.tone === "success" && "border-emerald-200",
          )}
        >
          <span
            className={cn(
              "mt-1 h-2 w-2 shrink-0 rounded-full",
              t.tone === "error"
                ? "bg-rose-500"
                : t.tone === "success"
                  ? "bg-emerald-500"
                  : "bg-sky-500",
            )}
          />
          <p className="flex-1 text-slate-800">
            {t.message}
            {t.count > 1 && (
              <span className="ml-1.5 rounded-full bg-slate-100 px-1.5 text-xs text-slate-700">
                ×{t.count}
              </span>
            )}
          </p>
          <button
            className="rounded text-slate-500 hover:text-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-600"
            aria-label="Dismiss"
            onClick={() => dismiss(t.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
