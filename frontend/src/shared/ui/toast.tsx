import { create } from "zustand";
import { errorMessage } from "../api";
import { cn } from "../lib";

type Tone = "success" | "error" | "info";
interface Toast {
  id: number;
  tone: Tone;
  message: string;
}

let nextId = 1;
const useToasts = create<{
  toasts: Toast[];
  push: (t: Omit<Toast, "id">) => void;
  dismiss: (id: number) => void;
}>((set) => ({
  toasts: [],
  push: (t) => {
    const id = nextId++;
    set((s) => ({ toasts: [...s.toasts.slice(-4), { ...t, id }] }));
    setTimeout(
      () => set((s) => ({ toasts: s.toasts.filter((x) => x.id !== id) })),
      t.tone === "error" ? 8000 : 4000,
    );
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
          <p className="flex-1 text-slate-800">{t.message}</p>
          <button
            className="text-slate-400 hover:text-slate-700"
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
