import { create } from "zustand";

export type Role = "admin" | "manager" | "client";

export interface SessionUser {
  id: number;
  username: string;
  email: string;
  displayName: string;
  role: Role;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds when the access token expires. */
  expiresAt: number;
}

interface SessionState {
  tokens: Tokens | null;
  user: SessionUser | null;
  setSession: (tokens: Tokens, user: SessionUser) => void;
  clear: () => void;
}

const KEY = "katalusis.session";

function load(): Pick<SessionState, "tokens" | "user"> {
  try {
    const raw = localStorage.getItem(KEY);
    if (raw) return JSON.parse(raw) as Pick<SessionState, "tokens" | "user">;
  } catch {
    /* corrupt or unavailable storage: start signed out */
  }
  return { tokens: null, user: null };
}

/** The signed-in session, persisted so a reload (or another tab) keeps it. */
export const useSession = create<SessionState>((set) => ({
  ...load(),
  setSession: (tokens, user) => {
    localStorage.setItem(KEY, JSON.stringify({ tokens, user }));
    set({ tokens, user });
  },
  clear: () => {
    localStorage.removeItem(KEY);
    set({ tokens: null, user: null });
  },
}));

/** Re-reads storage: another tab may have rotated the refresh token meanwhile. */
export function reloadSessionFromStorage() {
  const s = load();
  useSession.setState(s);
  return s;
}

if (typeof window !== "undefined") {
  window.addEventListener("storage", (e) => {
    if (e.key === KEY) reloadSessionFromStorage();
  });
}
