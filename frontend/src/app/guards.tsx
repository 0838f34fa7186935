import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { useSession, type Role } from "@/shared/api";
import { landingPath } from "@/shared/config";

/** Signed-out users go to the login page; a signed-in user of another role goes to their own landing page. */
export function RequireRole({ role, children }: { role: Role; children: ReactNode }) {
  const user = useSession((s) => s.user);
  const location = useLocation();
  if (!user) {
    return (
      <Navigate
        to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`}
        replace
      />
    );
  }
  if (user.role !== role) return <Navigate to={landingPath[user.role]} replace />;
  return <>{children}</>;
}

export function RoleLanding() {
  const user = useSession((s) => s.user);
  return <Navigate to={user ? landingPath[user.role] : "/login"} replace />;
}
