import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <div className="grid min-h-full place-items-center p-6 text-center">
      <div>
        <p className="text-sm font-semibold text-indigo-600">404</p>
        <h1 className="mt-2 text-2xl font-semibold">Page not found</h1>
        <Link to="/" className="mt-4 inline-block text-sm text-indigo-600 hover:underline">
          Go to your start page
        </Link>
      </div>
    </div>
  );
}
