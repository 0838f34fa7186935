import { useEffect, useState, type FormEvent } from "react";
import {
  ApiError,
  api,
  errorMessage,
  toApiError,
  useSession,
  type SessionUser,
} from "@/shared/api";
import { Button, Field, Input } from "@/shared/ui";

/** Sign-in form: plain error messages, and a countdown while the account is locked. */
export function LoginForm({ onSignedIn }: { onSignedIn: (user: SessionUser) => void }) {
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [lockedUntil, setLockedUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!lockedUntil) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [lockedUntil]);

  const secondsLeft = lockedUntil ? Math.max(0, Math.ceil((lockedUntil - now) / 1000)) : 0;
  const locked = secondsLeft > 0;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const {
        data,
        error: body,
        response,
      } = await api.POST("/api/auth/login", { body: { login, password } });
      if (!response.ok || !data) throw toApiError(response, body);
      const user = data.user as SessionUser;
      useSession.getState().setSession(
        {
          accessToken: data.accessToken,
          refreshToken: data.refreshToken,
          expiresAt: Date.now() + data.expiresIn * 1000,
        },
        user,
      );
      onSignedIn(user);
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        const wait = err.retryAfter ?? 60;
        setLockedUntil(Date.now() + wait * 1000);
        setNow(Date.now());
        setError(
          `Too many failed attempts. Sign-in is locked for this account; try again in ${formatWait(wait)}.`,
        );
      } else if (err instanceof ApiError && err.status === 401) {
        setError("The username or password is not correct.");
      } else {
        setError(errorMessage(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-4" aria-label="Sign in">
      {error && (
        <div
          role="alert"
          data-testid="login-error"
          className="rounded-md bg-rose-50 p-3 text-sm text-rose-800 ring-1 ring-rose-200"
        >
          {error}
          {locked && (
            <span className="mt-1 block font-medium">Retry in {formatWait(secondsLeft)}.</span>
          )}
        </div>
      )}
      <Field label="Username or email">
        {(id) => (
          <Input
            id={id}
            name="login"
            autoComplete="username"
            autoFocus
            required
            value={login}
            onChange={(e) => setLogin(e.target.value)}
          />
        )}
      </Field>
      <Field label="Password">
        {(id) => (
          <Input
            id={id}
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        )}
      </Field>
      <Button type="submit" variant="primary" className="w-full" loading={busy} disabled={locked}>
        Sign in
      </Button>
    </form>
  );
}

function formatWait(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  return `${Math.ceil(seconds / 60)} min`;
}
