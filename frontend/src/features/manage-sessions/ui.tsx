import { formatDateTime } from "@/shared/lib";
import { Badge, Button, Dialog, ErrorState, LoadingState, toast } from "@/shared/ui";
import { useMySessions, useRevokeSession, type SessionInfo } from "./api";

// (token in the User-Agent, name); order matters: Edge and Opera also say Chrome.
const BROWSERS: [string, string][] = [
  ["Edg/", "Edge"],
  ["OPR/", "Opera"],
  ["Firefox/", "Firefox"],
  ["Chrome/", "Chrome"],
  ["Safari/", "Safari"],
  ["curl/", "curl"],
];
const SYSTEMS: [string, string][] = [
  ["Android", "Android"],
  ["iPhone", "iOS"],
  ["iPad", "iPadOS"],
  ["Windows", "Windows"],
  ["Mac OS X", "macOS"],
  ["CrOS", "ChromeOS"],
  ["Linux", "Linux"],
];

/** "Firefox on Linux" from a User-Agent string, or the string itself. */
export function describeAgent(agent: string | null | undefined): string {
  if (!agent) return "Unknown device";
  const browser = BROWSERS.find(([token]) => agent.includes(token))?.[1] ?? null;
  const os = SYSTEMS.find(([token]) => agent.includes(token))?.[1] ?? null;
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? agent.slice(0, 60);
}

function SessionRow({
  s,
  onRevoke,
  busy,
}: {
  s: SessionInfo;
  onRevoke: () => void;
  busy: boolean;
}) {
  return (
    <li className="flex items-center gap-3 py-2" data-testid="session-row">
      <div className="min-w-0 flex-1">
        <div className="flex items-center gap-2 font-medium text-slate-900">
          <span className="truncate" title={s.userAgent ?? undefined}>
            {describeAgent(s.userAgent)}
          </span>
          {s.current && <Badge tone="green">this device</Badge>}
        </div>
        <div className="text-xs text-slate-600">
          {s.ip ?? "unknown address"} · last seen {formatDateTime(s.lastSeenAt ?? s.createdAt)} ·
          signed in {formatDateTime(s.createdAt)}
        </div>
      </div>
      <Button size="sm" variant="ghost" onClick={onRevoke} disabled={busy}>
        {s.current ? "Sign out" : "Revoke"}
      </Button>
    </li>
  );
}

/** The caller's active sessions; each can be ended. */
export function SessionsDialog({
  open,
  onOpenChange,
  onSignedOut,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  /** Called after the current session was ended here. */
  onSignedOut: () => void;
}) {
  const sessions = useMySessions(open);
  const revoke = useRevokeSession();

  function end(s: SessionInfo) {
    revoke.mutate(s.sessionId, {
      onSuccess: () => {
        if (s.current) {
          onOpenChange(false);
          onSignedOut();
        } else {
          toast.success(`${describeAgent(s.userAgent)} was signed out.`);
        }
      },
      onError: (e) => toast.error(e.message),
    });
  }

  return (
    <Dialog open={open} onOpenChange={onOpenChange} title="Active sessions">
      {sessions.isPending ? (
        <LoadingState />
      ) : sessions.isError ? (
        <ErrorState error={sessions.error} />
      ) : (
        <ul className="divide-y divide-slate-100" data-testid="sessions">
          {sessions.data.map((s) => (
            <SessionRow key={s.sessionId} s={s} busy={revoke.isPending} onRevoke={() => end(s)} />
          ))}
        </ul>
      )}
    </Dialog>
  );
}
