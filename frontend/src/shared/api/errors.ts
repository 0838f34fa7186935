/** An error answer from the API, carrying the server's own message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Seconds from a `Retry-After` header (lockout), if any. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    code: string,
    message: string,
    details?: unknown,
    retryAfter?: number | null,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter ?? null;
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: unknown };
}

/** Builds an ApiError from a non-2xx response (body already parsed or not). */
export function toApiError(response: Response, body: unknown): ApiError {
  const err = (body as ErrorBody | undefined)?.error;
  const retry = response.headers.get("retry-after");
  return new ApiError(
    response.status,
    err?.code ?? `http_${response.status}`,
    err?.message ?? (response.statusText || `Request failed (${response.status})`),
    err?.details,
    retry != null && /^\d+$/.test(retry) ? Number(retry) : null,
  );
}

/** Field errors from a 422 (`details` is a list of `{field, message}`). */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || !Array.isArray(error.details)) return {};
  const out: Record<string, string> = {};
  for (const d of error.details as { field?: string; message?: string }[]) {
    if (d && typeof d.field === "string" && typeof d.message === "string") out[d.field] = d.message;
  }
  return out;
}

/** A sentence for people, from whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = fieldErrors(error);
    const first = Object.entries(fields)[0];
    return first ? `${error.message}: ${first[0]} ${first[1]}` : error.message;
  }
  if (error instanceof TypeError) return "The server cannot be reached. Check your connection.";
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
