import { lazy, Suspense, type ComponentType } from "react";
import { createBrowserRouter, Navigate } from "react-router";
import { useSession, type Role } from "@/shared/api";
import { LoadingState } from "@/shared/ui";
import { AppShell } from "@/widgets/app-shell";
import { LoginPage } from "@/pages/login";
import { NotFoundPage } from "@/pages/not-found";
import { RequireRole, RoleLanding } from "./guards";
import { queryClient } from "./query-client";
import { RouteError } from "./route-error";

function page(load: () => Promise<{ default: ComponentType }>) {
  const Page = lazy(load);
  return (
    <Suspense fallback={<LoadingState />}>
      <Page />
    </Suspense>
  );
}

/** The editor page's module once loaded; rendered directly, without a Suspense fallback. */
let EditorPage: ComponentType | null = null;
const loadEditorPage = () =>
  import("@/pages/manager-workflow").then((m) => {
    EditorPage = m.default;
    return m;
  });

/**
 * Entering the editor starts its data requests and its code at once, and
 * the route renders when the code is there (the data is picked up in flight
 * by the page's queries). With a lazy component instead, the data would be
 * requested only after the page first rendered, and React holds a freshly
 * resolved Suspense boundary back for up to 300 ms.
 */
async function prefetchEditor({ params }: { params: { id?: string } }) {
  const id = Number(params.id);
  const page = loadEditorPage();
  if (useSession.getState().user?.role === "manager" && Number.isInteger(id)) {
    // Small chunks, imported here so they stay out of the login page's JavaScript.
    const [{ workflowQuery }, { templatesQuery }, { myClientsQuery }] = await Promise.all([
      import("@/entities/workflow"),
      import("@/entities/template"),
      import("@/entities/user"),
    ]);
    void queryClient.prefetchQuery(workflowQuery(id));
    void queryClient.prefetchQuery(templatesQuery());
    void queryClient.prefetchQuery(myClientsQuery());
  }
  await page;
  return null;
}

const editorFallback = page(loadEditorPage);

function EditorRoute() {
  return EditorPage ? <EditorPage /> : editorFallback;
}

/**
 * A page whose module its route's loader fetches: once loaded it renders
 * directly, without a Suspense fallback (see `EditorRoute`); before (a
 * loader that did not run for this role), lazily.
 */
function loadedPage(load: () => Promise<{ default: ComponentType }>) {
  let Page: ComponentType | null = null;
  const start = () =>
    load().then((m) => {
      Page = m.default;
      return m;
    });
  const fallback = page(load);
  function LoadedPage() {
    return Page ? <Page /> : fallback;
  }
  return { load: start, element: <LoadedPage /> };
}

/**
 * Entering a dashboard (`role`'s page with the analytics dashboard) starts
 * its two analytics requests, the page's code and the dashboard's code at
 * once, and the route renders when the code is there; the dashboard's
 * queries pick the answers up in flight. Mounted first, the dashboard
 * asked for its data only after the page's chunk, then its own chunk, had
 * arrived one after the other (measured on the manager's home: about 350
 * ms from the document to the first analytics request).
 */
function dashboardLoader(role: Role, load: () => Promise<unknown>) {
  return async ({ request }: { request: Request }) => {
    if (useSession.getState().user?.role !== role) return null;
    // The charts' chunk too, though not waited for: it is needed only once
    // the answers are there.
    void import("@/shared/chart").then((m) => m.preloadCharts());
    await Promise.all([
      import("@/entities/analytics").then(({ prefetchAnalytics }) =>
        prefetchAnalytics(queryClient, new URL(request.url).searchParams),
      ),
      load(),
      import("@/widgets/analytics-dashboard"),
    ]);
    return null;
  };
}

const analyticsPage = loadedPage(() => import("@/pages/analytics"));
const managerHome = loadedPage(() => import("@/pages/manager-clients"));

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
          {
            path: "analytics",
            loader: dashboardLoader("admin", analyticsPage.load),
            hydrateFallbackElement: <LoadingState />,
            element: analyticsPage.element,
          },
          { path: "users", element: page(() => import("@/pages/admin-users")) },
          { path: "assignments", element: page(() => import("@/pages/admin-assignments")) },
          { path: "library", element: page(() => import("@/pages/admin-library")) },
          { path: "workflows", element: page(() => import("@/pages/admin-workflows")) },
          { path: "templates", element: page(() => import("@/pages/workflow-gallery")) },
          { path: "runs", element: page(() => import("@/pages/admin-runs")) },
          { path: "runs/:id", element: page(() => import("@/pages/admin-run")) },
          { path: "audit", element: page(() => import("@/pages/admin-audit")) },
          { path: "storage", element: page(() => import("@/pages/admin-storage")) },
          { path: "settings", element: page(() => import("@/pages/admin-settings")) },
          { path: "connections", element: page(() => import("@/pages/admin-connections")) },
          { path: "tasks", element: page(() => import("@/pages/tasks")) },
          { path: "task-settings", element: page(() => import("@/pages/admin-task-settings")) },
          { path: "tasks/import", element: page(() => import("@/pages/task-import")) },
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
        children: [
          {
            index: true,
            loader: dashboardLoader("manager", managerHome.load),
            hydrateFallbackElement: <LoadingState />,
            element: managerHome.element,
          },
          { path: "templates", element: page(() => import("@/pages/workflow-gallery")) },
          { path: "tasks", element: page(() => import("@/pages/tasks")) },
          { path: "tasks/import", element: page(() => import("@/pages/task-import")) },
          { path: "runs/:id", element: page(() => import("@/pages/manager-run")) },
        ],
      },
      {
        path: "/manager/workflows/:id",
        element: (
          <RequireRole role="manager">
            <AppShell fullBleed />
          </RequireRole>
        ),
        loader: prefetchEditor,
        hydrateFallbackElement: <LoadingState />,
        children: [{ index: true, element: <EditorRoute /> }],
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
          {
            path: "analytics",
            loader: dashboardLoader("client", analyticsPage.load),
            hydrateFallbackElement: <LoadingState />,
            element: analyticsPage.element,
          },
          { path: "tasks", element: page(() => import("@/pages/tasks")) },
        ],
      },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);
