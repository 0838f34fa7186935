import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "@/shared/api";
import { Button, ErrorState, LoadingState, PageHeader, Table, Td, Th } from "@/shared/ui";

const MIB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0)} MiB`;
const days = (d?: number | null) => (d ? `${d} days` : "kept");

/** How big the database has grown, and the retention that bounds it. */
export default function AdminStoragePage() {
  const storage = useQuery({
    queryKey: ["admin", "storage"],
    queryFn: () => unwrap(api.GET("/api/admin/storage")),
  });
  return (
    <>
      <PageHeader
        title="Storage"
        actions={
          // Sizes change as runs, logs and retention come and go.
          <Button
            size="sm"
            disabled={storage.isFetching}
            onClick={() => {
              void storage.refetch();
            }}
          >
            Refresh
          </Button>
        }
      >
        Table sizes are the database's estimates. Retention is set with the KATALUSIS_RETENTION_*
        settings and runs hourly in small batches.
      </PageHeader>
      {storage.isPending ? (
        <LoadingState />
      ) : storage.isError ? (
        <ErrorState error={storage.error} onRetry={() => storage.refetch()} />
      ) : (
        <>
          <dl className="mb-4 grid grid-cols-2 gap-2 text-sm md:grid-cols-5">
            <div>
              <dt className="text-slate-500">Total</dt>
              <dd className="font-medium">{mib(storage.data.totalBytes)}</dd>
            </div>
            <div>
              <dt className="text-slate-500">Run events</dt>
              <dd>{days(storage.data.retention.runEventsDays)}</dd>
            </div>
            <div>
              <dt className="text-slate-500">Log lines</dt>
              <dd>{days(storage.data.retention.logLinesDays)}</dd>
            </div>
            <div>
              <dt className="text-slate-500">Files</dt>
              <dd>{days(storage.data.retention.filesDays)}</dd>
            </div>
            <div>
              <dt className="text-slate-500">Audit rows</dt>
              <dd>{days(storage.data.retention.auditDays)}</dd>
            </div>
          </dl>
          <Table>
            <thead>
              <tr>
                <Th>Table</Th>
                <Th>Rows (approx.)</Th>
                <Th>Data</Th>
                <Th>Indexes</Th>
              </tr>
            </thead>
            <tbody>
              {storage.data.tables.map((t) => (
                <tr key={t.table}>
                  <Td className="font-mono text-xs">{t.table}</Td>
                  <Td>{t.approxRows.toLocaleString()}</Td>
                  <Td>{mib(t.dataBytes)}</Td>
                  <Td>{mib(t.indexBytes)}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        </>
      )}
    </>
  );
}
