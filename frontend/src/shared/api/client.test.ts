import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { authFetch } from "./client";
import { ApiError, errorMessage, fieldErrors, toApiError } from "./errors";
import { useSession } from "./session";

const user = { id: 1, username: "a", email: "a@x", displayName: "A", role: "admin" as const };

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

describe("API errors", () => {
  it("keep the server's code, message, details and Retry-After", () => {
    const e = toApiError(json(429, {}, { "Retry-After": "120" }), {
      error: { code: "too_many_requests", message: "locked" },
    });
    expect(e).toMatchObject({
      status: 429,
      code: "too_many_requests",
      message: "locked",
      retryAfter: 120,
    });
  });
  it("turn 422 details into field errors and a readable sentence", () => {
    const e = new ApiError(422, "invalid", "validation failed", [
      { field: "email", message: "is not an email" },
    ]);
    expect(fieldErrors(e)).toEqual({ email: "is not an email" });
    expect(errorMessage(e)).toBe("validation failed: email is not an email");
    expect(errorMessage(new TypeError("Failed to fetch"))).toMatch(/cannot be reached/);
  });
});

describe("authFetch", () => {
  let calls: string[];
  let refreshes: number;

  beforeEach(() => {
    calls = [];
    refreshes = 0;
    useSession
      .getState()
      .setSession(
        { accessToken: "old", refreshToken: "r1", expiresAt: Date.now() + 600_000 },
        user,
      );
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: Request | string, init?: RequestInit) => {
        const req =
          input instanceof Request ? input : new Request(new URL(input, "http://x"), init);
        const url = new URL(req.url, "http://x").pathname;
        if (url === "/api/auth/refresh") {
          refreshes++;
          const body = (await req.json()) as { refreshToken: string };
          // A reused refresh token would end the session: fail loudly.
          if (body.refreshToken !== `r${refreshes}`)
            return json(401, { error: { code: "unauthenticated", message: "reused" } });
          await new Promise((r) => setTimeout(r, 5));
          return json(200, {
            accessToken: "new",
            refreshToken: `r${refreshes + 1}`,
            expiresIn: 900,
            tokenType: "Bearer",
            user,
          });
        }
        const auth = req.headers.get("Authorization");
        calls.push(`${url} ${auth}`);
        return auth === "Bearer new"
          ? json(200, { ok: true })
          : json(401, { error: { code: "unauthenticated", message: "expired" } });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it("refreshes once for concurrent 401s and retries each request with the new token", async () => {
    const results = await Promise.all(
      ["/api/a", "/api/b", "/api/c"].map((p) => authFetch(new Request(`http://x${p}`))),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(refreshes).toBe(1);
    expect(useSession.getState().tokens?.refreshToken).toBe("r2");
    expect(calls.filter((c) => c.endsWith("Bearer new")).sort()).toEqual([
      "/api/a Bearer new",
      "/api/b Bearer new",
      "/api/c Bearer new",
    ]);
  });

  it("refreshes ahead of expiry without a failed request first", async () => {
    useSession
      .getState()
      .setSession({ accessToken: "old", refreshToken: "r1", expiresAt: Date.now() + 1000 }, user);
    const r = await authFetch(new Request("http://x/api/a"));
    expect(r.status).toBe(200);
    expect(calls).toEqual(["/api/a Bearer new"]);
  });

  it("signs out when the refresh is refused", async () => {
    useSession
      .getState()
      .setSession(
        { accessToken: "old", refreshToken: "stale", expiresAt: Date.now() + 600_000 },
        user,
      );
    const r = await authFetch(new Request("http://x/api/a"));
    expect(r.status).toBe(401);
    expect(useSession.getState().user).toBeNull();
  });
});
