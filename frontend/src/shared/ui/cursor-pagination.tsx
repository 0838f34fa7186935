import { Button } from "./button";

/**
 * Previous/next for cursor lists, which know whether more rows follow but not
 * how many there are (no count is requested for a number nobody reads).
 */
export function CursorPagination({
  pageIndex,
  perPage,
  shown,
  nextCursor,
  onNext,
  onPrevious,
}: {
  /** 0 on the first page. */
  pageIndex: number;
  perPage: number;
  shown: number;
  nextCursor?: string | null;
  onNext: (cursor: string) => void;
  onPrevious: () => void;
}) {
  const first = pageIndex * perPage + 1;
  return (
    <nav
      className="flex items-center justify-between px-1 py-3 text-sm text-slate-600"
      aria-label="Pagination"
    >
      <span>
        {shown === 0
          ? "No results"
          : `${first}–${first + shown - 1}${nextCursor ? " of more" : ""}`}
      </span>
      <div className="flex gap-2">
        <Button size="sm" disabled={pageIndex === 0} onClick={onPrevious}>
          Previous
        </Button>
        <Button size="sm" disabled={!nextCursor} onClick={() => nextCursor && onNext(nextCursor)}>
          Next
        </Button>
      </div>
    </nav>
  );
}
