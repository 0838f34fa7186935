import { useState, type ReactNode } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import * as Menu from "@radix-ui/react-dropdown-menu";
import { useSession, type Role } from "@/shared/api";
import { cn } from "@/shared/lib";
import { ChangePasswordDialog } from "@/features/change-password";
import { SessionsDialog } from "@/features/manage-sessions";
import { logout } from "@/features/logout";
import { ChatPanel } from "@/features/ai-chat";
import { NotificationBell } from "./notification-bell";
import { ShortcutsDialog } from "./shortcuts-dialog";

const nav: Record<Role, { to: string; label: string }[]> = {
  admin: [
    { to: "/admin/analytics", label: "Dashboard" },
    { to: "/admin/users", label: "Users" },
    { to: "/admin/assignments", label: "Assignments" },
    { to: "/admin/library", label: "Node library" },
    { to: "/admin/workflows", label: "Workflows" },
    { to: "/admin/tasks", label: "Tasks" },
    { to: "/admin/runs", label: "Runs" },
    { to: "/admin/audit", label: "Audit log" },
    { to: "/admin/connections", label: "Connections" },
    { to: "/admin/storage", label: "Storage" },
    { to: "/admin/settings", label: "Settings" },
    { to: "/admin/task-settings", label: "Task settings" },
  ],
  manager: [
    { to: "/manager", label: "Clients & workflows" },
    { to: "/manager/templates", label: "Templates" },
    { to: "/manager/tasks", label: "Tasks" },
  ],
  client: [
    { to: "/client", label: "My results" },
    { to: "/client/tasks", label: "My tasks" },
    { to: "/client/analytics", label: "Overview" },
  ],
};

export function Logo() {
  return (
    <span className="flex items-center gap-2 font-semibold tracking-tight text-slate-900">
      <svg viewBox="0 0 24 24" className="h-6 w-6" aria-hidden="true">
        <rect width="24" height="24" rx="6" fill="#4f46e5" />
        <circle cx="7" cy="8" r="2.2" fill="#fff" />
        <circle cx="17" cy="8" r="2.2" fill="#fff" />
        <circle cx="12" cy="17" r="2.2" fill="#fff" />
        <path d="M7 8 12 17 17 8" stroke="#fff" strokeWidth="1.4" fill="none" />
      </svg>
      Katalusis
    </span>
  );
}

/** The signed-in frame: top bar with the role's navigation and the account menu. */
export function AppShell({ fullBleed }: { fullBleed?: boolean }) {
  const user = useSession((s) => s.user);
  const navigate = useNavigate();
  const [pwOpen, setPwOpen] = useState(false);
  const [sessionsOpen, setSessionsOpen] = useState(false);
  if (!user) return null;
  return (
    <div className="flex h-screen flex-col">
      <header className="flex h-12 shrink-0 items-center gap-6 border-b border-slate-200 bg-white px-4">
        <Logo />
        <nav className="flex gap-1" aria-label="Main">
          {nav[user.role].map((n) => (
            <NavLink
              key={n.to}
              to={n.to}
              end={n.to === "/manager" || n.to === "/client"}
              className={({ isActive }) =>
                cn(
                  "rounded-md px-2.5 py-1.5 text-sm font-medium",
                  isActive ? "bg-indigo-50 text-indigo-700" : "text-slate-600 hover:bg-slate-100",
                )
              }
            >
              {n.label}
            </NavLink>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-2">
          <NotificationBell />
          <Menu.Root>
            <Menu.Trigger
              className="flex items-center gap-2 rounded-md px-2 py-1 text-sm hover:bg-slate-100"
              title="Account menu"
              data-testid="account-menu"
            >
              <span className="grid h-7 w-7 place-items-center rounded-full bg-indigo-100 text-xs font-semibold text-indigo-700">
                {(user.displayName || user.username).slice(0, 1).toUpperCase()}
              </span>
              <span className="text-slate-700">{user.displayName || user.username}</span>
              <span className="text-xs text-slate-600">{user.role}</span>
            </Menu.Trigger>
            <Menu.Portal>
              <Menu.Content
                align="end"
                sideOffset={6}
                className="z-50 min-w-44 rounded-lg border border-slate-200 bg-white p-1 text-sm shadow-lg"
              >
                <MenuItem onSelect={() => setPwOpen(true)}>Change password</MenuItem>
                <MenuItem onSelect={() => setSessionsOpen(true)}>Active sessions</MenuItem>
                <MenuItem
                  onSelect={() => window.dispatchEvent(new KeyboardEvent("keydown", { key: "?" }))}
                >
                  Keyboard shortcuts <span className="ml-auto text-xs text-slate-500">?</span>
                </MenuItem>
                <MenuItem
                  onSelect={async () => {
                    await logout();
                    navigate("/login", { replace: true });
                  }}
                >
                  Sign out
                </MenuItem>
              </Menu.Content>
            </Menu.Portal>
          </Menu.Root>
        </div>
      </header>
      <main className={cn("min-h-0 flex-1", fullBleed ? "overflow-hidden" : "overflow-auto")}>
        {fullBleed ? (
          <Outlet />
        ) : (
          <div className="mx-auto max-w-7xl p-6">
            <Outlet />
          </div>
        )}
      </main>
      <ChangePasswordDialog open={pwOpen} onOpenChange={setPwOpen} />
      <SessionsDialog
        open={sessionsOpen}
        onOpenChange={setSessionsOpen}
        onSignedOut={async () => {
          await logout();
          navigate("/login", { replace: true });
        }}
      />
      <ShortcutsDialog />
      <ChatPanel />
    </div>
  );
}

function MenuItem({ children, onSelect }: { children: ReactNode; onSelect: () => void }) {
  return (
    <Menu.Item
      onSelect={onSelect}
      className="flex cursor-pointer items-center gap-2 rounded px-2.5 py-1.5 outline-none data-[highlighted]:bg-slate-100"
    >
      {children}
    </Menu.Item>
  );
}
