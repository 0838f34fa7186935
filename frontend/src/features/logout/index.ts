import { api, useSession } from "@/shared/api";

/** Ends the session on the server (best effort) and forgets it locally. */
export async function logout() {
  const tokens = useSession.getState().tokens;
  if (tokens) {
    try {
      await api.POST("/api/auth/logout");
    } catch {
      /* offline: the local session is dropped anyway */
    }
  }
  useSession.getState().clear();
}
