import { Button } from "./button";

export function Pagination({
  page,
  perPage,
  total,
  onPage,
}: {
  page: number;
  perPage: number;
  total: number;
  onPage: (page: number) => void;
}) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  return (
    <nav
      className="flex items-center justify-between px-1 py-3 text-sm text-slate-600"
      aria-label="Pagination"
    >
      <span>
        {total === 0
          ? "No results"
          : `${(page - 1) * perPage + 1}–${Math.min(page * perPage, total)} of ${total}`}
      </span>
      <div className="flex gap-2">
        <Button size="sm" disabled={page <= 1} onClick={() => onPage(page - 1)}>
          Previous
        </Button>
        <Button size="sm" disabled={page >= pages} onClick={() => onPage(page + 1)}>
          Next
        </Button>
      </div>
    </nav>
  );
}
