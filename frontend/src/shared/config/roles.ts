import type { Role } from "../api";

/** Where each role lands after sign-in (and when it opens a page of another role). */
export const landingPath: Record<Role, string> = {
  admin: "/admin",
  manager: "/manager",
  client: "/client",
};
