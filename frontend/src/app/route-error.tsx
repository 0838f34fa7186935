import { isRouteErrorResponse, Link, useRouteError } from "react-router";

/** Shown instead of a blank page when a page fails to render or load. */
export function RouteError() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error)
    ? `${error.status} ${error.statusText}`
    : error instanceof Error
      ? error.message
      : "Unknown error";
  const chunkFailed = /dynamically imported module|Failed to fetch/i.test(message);
  return (
    <div className="grid min-h-full place-items-center p-6">
      <div
        className="max-w-md rounded-xl bg-white p-6 text-center shadow ring-1 ring-slate-200"
        role="alert"
      >
        <h1 className="text-lg font-semibold">Something went wrong</h1>
        <p className="mt-2 text-sm text-slate-600">
          {chunkFailed
            ? "A new version of Katalusis was deployed. Reload the page to continue."
            : message}
        </p>
        <div className="mt-4 flex justify-center gap-3 text-sm">
          <button
            className="text-indigo-600 hover:underline"
            onClick={() => window.location.reload()}
          >
            Reload
          </button>
          <Link to="/" className="text-indigo-600 hover:underline">
            Start page
          </Link>
        </div>
      </div>
    </div>
  );
}
