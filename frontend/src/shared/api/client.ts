import createClient from "openapi-fetch";
import type { paths, components } from "./schema";
import { ApiError, toApiError } from "./errors";
import { reloadSessionFromStorage, useSession, type SessionUser } from "./session";

export type Schemas = components["schemas"];

const REFRESH_MARGIN_MS = 30_000;
let inflight: Promise<string | null> | null = null;

async function doRefresh(staleRefreshToken: string): Promise<string | null> {
  // Another tab may have rotated the token already: each refresh token works once,
  // and presenting a used one ends the whole session, so never reuse a stale one.
  const current = reloadSessionFromStorage().tokens;
  if (!current) return null;
  if (
    current.refreshToken !== staleRefreshToken &&
    current.expiresAt - Date.now() > REFRESH_MARGIN_MS
  ) {
    return current.accessToken;
  }
  const res = await fetch("/api/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refreshToken: current.refreshToken }),
  });
  if (!res.ok) {
    useSession.getState().clear();
    return null;
  }
  const body = (await res.json()) as Schemas["TokenResponse"];
  useSession.getState().setSession(
    {
      accessToken: body.accessToken,
      refreshToken: body.refreshToken,
      expiresAt: Date.now() + body.expiresIn * 1000,
    },
    body.user as SessionUser,
  );
  return body.accessToken;
}

/**
 * Refreshes the access token; concurrent callers share one request, and tabs
 * take turns through a Web Lock, so a refresh token is never presented twice.
 */
export function refreshAccessToken(): Promise<string | null> {
  const stale = useSession.getState().tokens?.refreshToken;
  if (!stale) return Promise.resolve(null);
  if (!inflight) {
    const run = () => doRefresh(stale);
    const locked: Promise<string | null> =
      typeof navigator !== "undefined" && navigator.locks
        ? (navigator.locks.request("katalusis-refresh", run) as unknown as Promise<string | null>)
        : run();
    inflight = locked.finally(() => {
      inflight = null;
    });
  }
  return inflight;
}

/** The access token to send now, refreshed first when it is about to expire. */
export async function validAccessToken(): Promise<string | null> {
  const tokens = useSession.getState().tokens;
  if (!tokens) return null;
  if (tokens.expiresAt - Date.now() < REFRESH_MARGIN_MS) return refreshAccessToken();
  return tokens.accessToken;
}

/** fetch with the bearer token, a silent refresh before expiry and one retry on 401. */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const token = await validAccessToken();
  if (token) input.headers.set("Authorization", `Bearer ${token}`);
  const res = await fetch(input);
  if (res.status !== 401 || !token) return res;
  const fresh = await refreshAccessToken();
  if (!fresh) return res;
  retry.headers.set("Authorization", `Bearer ${fresh}`);
  return fetch(retry);
}

export const api = createClient<paths>({ baseUrl: "", fetch: authFetch });

/** Unwraps an openapi-fetch result: the data, or a thrown ApiError with the server's message. */
export async function unwrap<T>(
  p: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await p;
  if (!response.ok) throw toApiError(response, error);
  return data as T;
}

export { ApiError };
