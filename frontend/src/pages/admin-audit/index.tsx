import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "@/shared/api";
import { formatDateTime, useCursorPages, useDebounced } from "@/shared/lib";
import {
  Badge,
  CursorPagination,
  EmptyState,
  ErrorState,
  Input,
  LoadingState,
  PageHeader,
  Select,
  Table,
  Td,
  Th,
} from "@/shared/ui";

const PER_PAGE = 50;

export default function AdminAuditPage() {
  const [action, setAction] = useState("");
  const [objectType, setObjectType] = useState("");
  const [outcome, setOutcome] = useState("");
  const [userId, setUserId] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const pages = useCursorPages();
  const filters = useDebounced({ action, objectType, outcome, userId, from, to });
  const query = {
    action: filters.action || undefined,
    objectType: filters.objectType || undefined,
    outcome: filters.outcome || undefined,
    userId: /^\d+$/.test(filters.userId) ? Number(filters.userId) : undefined,
    from: filters.from ? new Date(filters.from).toISOString() : undefined,
    to: filters.to ? new Date(filters.to).toISOString() : undefined,
    after: pages.after,
    perPage: PER_PAGE,
  };
  const audit = useQuery({
    queryKey: ["audit", query],
    queryFn: () => unwrap(api.GET("/api/admin/audit", { params: { query } })),
    placeholderData: keepPreviousData,
  });
  const reset = (f: (v: string) => void) => (e: { target: { value: string } }) => {
    f(e.target.value);
    pages.reset();
  };

  return (
    <>
      <PageHeader title="Audit log">
        Every state-changing request, including denied and failed ones.
      </PageHeader>
      <div className="mb-3 grid gap-2 md:grid-cols-6">
        <Input
          aria-label="Action"
          placeholder="Action, e.g. user.create"
          value={action}
          onChange={reset(setAction)}
        />
        <Input
          aria-label="Object type"
          placeholder="Object type"
          value={objectType}
          onChange={reset(setObjectType)}
        />
        <Input
          aria-label="User id"
          placeholder="User id"
          value={userId}
          onChange={reset(setUserId)}
          inputMode="numeric"
        />
        <Select aria-label="Outcome" value={outcome} onChange={reset(setOutcome)}>
          <option value="">Any outcome</option>
          <option value="success">success</option>
          <option value="denied">denied</option>
          <option value="rejected">rejected</option>
          <option value="error">error</option>
        </Select>
        <Input aria-label="From" type="datetime-local" value={from} onChange={reset(setFrom)} />
        <Input aria-label="To" type="datetime-local" value={to} onChange={reset(setTo)} />
      </div>
      {audit.isPending ? (
        <LoadingState />
      ) : audit.isError ? (
        <ErrorState error={audit.error} onRetry={() => audit.refetch()} />
      ) : audit.data.items.length === 0 ? (
        <EmptyState title="No audit entries match these filters.">
          Every change anyone makes is recorded here. Clear the filters, or widen the dates.
        </EmptyState>
      ) : (
        <>
          <Table>
            <thead>
              <tr>
                <Th>Time</Th>
                <Th>User</Th>
                <Th>Action</Th>
                <Th>Object</Th>
                <Th>Outcome</Th>
                <Th>Status</Th>
                <Th>Client IP</Th>
                <Th>Request</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {audit.data.items.map((e) => (
                <tr key={e.auditId}>
                  <Td>{formatDateTime(e.at)}</Td>
                  <Td>{e.userId != null ? `#${e.userId} ${e.role ?? ""}` : "—"}</Td>
                  <Td className="font-mono text-xs">{e.action}</Td>
                  <Td className="font-mono text-xs">
                    {e.objectType ? `${e.objectType}:${e.objectId ?? ""}` : "—"}
                  </Td>
                  <Td>
                    <Badge
                      tone={
                        e.outcome === "success"
                          ? "green"
                          : e.outcome === "denied"
                            ? "amber"
                            : "rose"
                      }
                    >
                      {e.outcome}
                    </Badge>
                  </Td>
                  <Td>{e.status}</Td>
                  <Td className="font-mono text-xs">{e.clientIp ?? "—"}</Td>
                  <Td className="max-w-32 truncate font-mono text-xs text-slate-500">
                    {e.requestId}
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <CursorPagination
            pageIndex={pages.pageIndex}
            perPage={PER_PAGE}
            shown={audit.data.items.length}
            nextCursor={audit.data.nextCursor}
            onNext={pages.next}
            onPrevious={pages.previous}
          />
        </>
      )}
    </>
  );
}
