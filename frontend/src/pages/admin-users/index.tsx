import { useState, type FormEvent } from "react";
import { useEndUserSessions } from "@/features/manage-sessions";
import { fieldErrors, type Role } from "@/shared/api";
import { formatDateTime, useDebounced } from "@/shared/lib";
import {
  Badge,
  Button,
  Dialog,
  EmptyState,
  ErrorState,
  Field,
  Input,
  LoadingState,
  PageHeader,
  Pagination,
  Select,
  Table,
  Td,
  Th,
  toast,
} from "@/shared/ui";
import {
  useCreateUser,
  useResetPassword,
  useUpdateUser,
  useUsers,
  type User,
} from "@/entities/user";

const PER_PAGE = 20;

export default function AdminUsersPage() {
  const [q, setQ] = useState("");
  const [role, setRole] = useState<Role | "">("");
  const [active, setActive] = useState<"" | "true" | "false">("true");
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const [resetting, setResetting] = useState<User | null>(null);
  const query = useDebounced(q);
  const users = useUsers({
    q: query || undefined,
    role: role || undefined,
    active: active === "" ? undefined : active === "true",
    page,
    perPage: PER_PAGE,
  });
  const update = useUpdateUser();
  const endSessions = useEndUserSessions();

  return (
    <>
      <PageHeader
        title="Users"
        actions={
          <Button variant="primary" onClick={() => setCreating(true)}>
            New user
          </Button>
        }
      >
        Administrators, managers and clients. Deactivated users cannot sign in; their history stays.
      </PageHeader>
      <div className="mb-3 flex flex-wrap gap-2">
        <Input
          aria-label="Search users"
          placeholder="Search name, username or email…"
          className="max-w-xs"
          value={q}
          onChange={(e) => {
            setQ(e.target.value);
            setPage(1);
          }}
        />
        <Select
          aria-label="Filter by role"
          className="w-36"
          value={role}
          onChange={(e) => {
            setRole(e.target.value as Role | "");
            setPage(1);
          }}
        >
          <option value="">All roles</option>
          <option value="admin">Admins</option>
          <option value="manager">Managers</option>
          <option value="client">Clients</option>
        </Select>
        <Select
          aria-label="Filter by status"
          className="w-36"
          value={active}
          onChange={(e) => {
            setActive(e.target.value as "" | "true" | "false");
            setPage(1);
          }}
        >
          <option value="true">Active</option>
          <option value="false">Deactivated</option>
          <option value="">Any status</option>
        </Select>
      </div>
      {users.isPending ? (
        <LoadingState />
      ) : users.isError ? (
        <ErrorState error={users.error} onRetry={() => users.refetch()} />
      ) : users.data.items.length === 0 ? (
        <EmptyState title="No users match these filters.">
          Clear the search and filters, or press <b>New user</b> to add a manager or a client.
        </EmptyState>
      ) : (
        <>
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Username</Th>
                <Th>Email</Th>
                <Th>Role</Th>
                <Th>Status</Th>
                <Th>Created</Th>
                <Th className="text-right">Actions</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {users.data.items.map((u) => (
                <tr key={u.id} data-testid={`user-row-${u.username}`}>
                  <Td className="font-medium text-slate-900">{u.displayName}</Td>
                  <Td>{u.username}</Td>
                  <Td>{u.email}</Td>
                  <Td>
                    <Select
                      aria-label={`Role of ${u.username}`}
                      className="w-32 py-1"
                      value={u.role}
                      onChange={(e) =>
                        update.mutate(
                          { id: u.id, role: e.target.value as Role },
                          {
                            onSuccess: () =>
                              toast.success(
                                `${u.username} is now ${e.target.value}. Their sessions were ended.`,
                              ),
                          },
                        )
                      }
                    >
                      <option value="admin">admin</option>
                      <option value="manager">manager</option>
                      <option value="client">client</option>
                    </Select>
                  </Td>
                  <Td>
                    {u.active ? <Badge tone="green">active</Badge> : <Badge>deactivated</Badge>}
                  </Td>
                  <Td>{formatDateTime(u.createdAt)}</Td>
                  <Td className="space-x-1 text-right">
                    <Button size="sm" variant="ghost" onClick={() => setResetting(u)}>
                      Reset password
                    </Button>
                    <Button
                      size="sm"
                      variant="ghost"
                      onClick={() =>
                        endSessions.mutate(u.id, {
                          onSuccess: () =>
                            toast.success(`${u.username} was signed out everywhere.`),
                          onError: (e) => toast.error(e.message),
                        })
                      }
                    >
                      End sessions
                    </Button>
                    <Button
                      size="sm"
                      variant="ghost"
                      onClick={() =>
                        update.mutate(
                          { id: u.id, active: !u.active },
                          {
                            onSuccess: () =>
                              toast.success(
                                `${u.username} ${u.active ? "deactivated" : "reactivated"}.`,
                              ),
                          },
                        )
                      }
                    >
                      {u.active ? "Deactivate" : "Reactivate"}
                    </Button>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <Pagination
            page={page}
            perPage={PER_PAGE}
            total={users.data.total ?? 0}
            onPage={setPage}
          />
        </>
      )}
      <CreateUserDialog open={creating} onOpenChange={setCreating} />
      <ResetPasswordDialog user={resetting} onClose={() => setResetting(null)} />
    </>
  );
}

function CreateUserDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const empty = { username: "", email: "", displayName: "", role: "client" as Role, password: "" };
  const [form, setForm] = useState(empty);
  const create = useCreateUser();
  const errors = fieldErrors(create.error);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [k]: e.target.value });

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate(form, {
      onSuccess: (u) => {
        toast.success(`Created ${u.role} ${u.username}.`);
        setForm(empty);
        create.reset();
        onOpenChange(false);
      },
    });
  }

  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title="New user"
      description="The user signs in with this username or email and password."
    >
      <form onSubmit={submit} className="grid grid-cols-2 gap-3">
        <Field label="Display name" error={errors.displayName} className="col-span-2">
          {(id) => (
            <Input id={id} required value={form.displayName} onChange={set("displayName")} />
          )}
        </Field>
        <Field label="Username" error={errors.username}>
          {(id) => (
            <Input
              id={id}
              required
              value={form.username}
              onChange={set("username")}
              autoComplete="off"
            />
          )}
        </Field>
        <Field label="Role" error={errors.role}>
          {(id) => (
            <Select id={id} value={form.role} onChange={set("role")}>
              <option value="client">client</option>
              <option value="manager">manager</option>
              <option value="admin">admin</option>
            </Select>
          )}
        </Field>
        <Field label="Email" error={errors.email} className="col-span-2">
          {(id) => (
            <Input id={id} type="email" required value={form.email} onChange={set("email")} />
          )}
        </Field>
        <Field
          label="Initial password"
          error={errors.password}
          hint="At least 10 characters."
          className="col-span-2"
        >
          {(id) => (
            <Input
              id={id}
              type="password"
              required
              value={form.password}
              onChange={set("password")}
              autoComplete="new-password"
            />
          )}
        </Field>
        <div className="col-span-2 flex justify-end gap-2 pt-2">
          <Button onClick={() => onOpenChange(false)}>Cancel</Button>
          <Button type="submit" variant="primary" loading={create.isPending}>
            Create user
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function ResetPasswordDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const [password, setPassword] = useState("");
  const reset = useResetPassword();
  const errors = fieldErrors(reset.error);
  return (
    <Dialog
      open={!!user}
      onOpenChange={(o) => !o && onClose()}
      title={`Reset password of ${user?.username ?? ""}`}
      description="Their sessions end at once; tell them the new password."
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          reset.mutate(
            { id: user!.id, password },
            {
              onSuccess: () => {
                toast.success(`Password of ${user!.username} reset.`);
                setPassword("");
                onClose();
              },
            },
          );
        }}
        className="space-y-3"
      >
        <Field label="New password" error={errors.password} hint="At least 10 characters.">
          {(id) => (
            <Input
              id={id}
              type="password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="new-password"
            />
          )}
        </Field>
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" loading={reset.isPending}>
            Reset password
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
