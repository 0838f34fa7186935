import { lazy, Suspense, type ComponentType } from "react";
import { createBrowserRouter, Navigate } from "react-router";
import { LoadingState } from "@/shared/ui";
import { AppShell } from "@/widgets/app-shell";
import { LoginPage } from "@/pages/login";
import { NotFoundPage } from "@/pages/not-found";
import { RequireRole, RoleLanding } from "./guards";
import { RouteError } from "./route-error";

function page(load: () => Promise<{ default: ComponentType }>) {
  const Page = lazy(load);
  return (
    <Suspense fallback={<LoadingState />}>
      <Page />
    </Suspense>
  );
}

export const router = createBrowserRouter([
  {
    errorElement: <RouteError />,
    children: [
      { path: "/", element: <RoleLanding /> },
      { path: "/login", element: <LoginPage /> },
      {
        path: "/admin",
        element: (
          <RequireRole role="admin">
            <AppShell />
          </RequireRole>
        ),
        children: [
          { index: true, element: <Navigate to="/admin/users" replace /> },
          { path: "users", element: page(() => import("@/pages/admin-users")) },
          { path: "assignments", element: page(() => import("@/pages/admin-assignments")) },
          { path: "library", element: page(() => import("@/pages/admin-library")) },
          { path: "audit", element: page(() => import("@/pages/admin-audit")) },
          { path: "settings", element: page(() => import("@/pages/admin-settings")) },
        ],
      },
      {
        path: "/admin/library/:name",
        element: (
          <RequireRole role="admin">
            <AppShell fullBleed />
          </RequireRole>
        ),
        children: [{ index: true, element: page(() => import("@/pages/admin-template")) }],
      },
      {
        path: "/manager",
        element: (
          <RequireRole role="manager">
            <AppShell />
          </RequireRole>
        ),
        children: [{ index: true, element: page(() => import("@/pages/manager-clients")) }],
      },
      {
        path: "/manager/workflows/:id",
        element: (
          <RequireRole role="manager">
            <AppShell fullBleed />
          </RequireRole>
        ),
        children: [{ index: true, element: page(() => import("@/pages/manager-workflow")) }],
      },
      {
        path: "/client",
        element: (
          <RequireRole role="client">
            <AppShell />
          </RequireRole>
        ),
        children: [
          { index: true, element: page(() => import("@/pages/client-runs")) },
          { path: "runs/:id", element: page(() => import("@/pages/client-run")) },
        ],
      },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);
