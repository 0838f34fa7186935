import type { BuiltinKind } from "@/entities/workflow";

const NAMES: Record<BuiltinKind, string> = {
  condition: "Condition",
  switch: "Switch",
  wait: "Wait",
  approval: "Approval",
  notification: "Notification",
  task: "Task",
  query: "Query",
};

/**
 * The mark of a flow node the platform runs itself: a diamond for a
 * Condition (with three branch lines for a Switch), a clock for a Wait, a
 * person with a tick for an Approval, a bell for a Notification, a
 * ticked box for a Task and a database cylinder for a Query. Shown on the card and in the palette.
 */
export function FlowGlyph({
  kind,
  decorative = false,
}: {
  kind: BuiltinKind;
  /** Next to the kind's own name (the palette), where a label would only repeat it. */
  decorative?: boolean;
}) {
  return (
    <span
      className="flex h-4 w-4 shrink-0 items-center justify-center text-indigo-700"
      {...(decorative ? { "aria-hidden": true } : { role: "img", "aria-label": NAMES[kind] })}
      data-testid={`flow-${kind}`}
    >
      <svg viewBox="0 0 16 16" className="h-3.5 w-3.5" aria-hidden="true">
        {kind === "condition" ? (
          <path d="M8 1 15 8 8 15 1 8Z" fill="currentColor" />
        ) : kind === "switch" ? (
          <>
            <path d="M6 1 11 6 6 11 1 6Z" fill="currentColor" />
            <path
              d="M9 9l5 5M11 6h4M6 11v4"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.4"
              strokeLinecap="round"
            />
          </>
        ) : kind === "wait" ? (
          <>
            <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" strokeWidth="1.6" />
            <path d="M8 4v4l2.5 2" fill="none" stroke="currentColor" strokeWidth="1.6" />
          </>
        ) : kind === "approval" ? (
          <>
            <circle cx="6" cy="4.5" r="2.6" fill="currentColor" />
            <path d="M1 14.5c0-3 2.2-5 5-5 1.3 0 2.4.4 3.3 1.1" fill="currentColor" />
            <path
              d="m9.2 12.2 2 2 3.8-4.2"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.8"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </>
        ) : kind === "task" ? (
          <>
            <rect
              x="1.8"
              y="1.8"
              width="12.4"
              height="12.4"
              rx="2"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.5"
            />
            <path
              d="m4.8 8.2 2.2 2.2 4.2-4.6"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.7"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </>
        ) : kind === "query" ? (
          <>
            <ellipse cx="8" cy="3.6" rx="5.6" ry="2" fill="currentColor" />
            <path
              d="M2.4 3.6v8.8c0 1.1 2.5 2 5.6 2s5.6-.9 5.6-2V3.6M2.4 8c0 1.1 2.5 2 5.6 2s5.6-.9 5.6-2"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.4"
            />
          </>
        ) : (
          <>
            <path
              d="M4 11V7.5a4 4 0 0 1 8 0V11l1.2 1.5H2.8Z"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.5"
              strokeLinejoin="round"
            />
            <path
              d="M6.6 14a1.5 1.5 0 0 0 2.8 0"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.5"
            />
          </>
        )}
      </svg>
    </span>
  );
}
