export {
  api,
  authFetch,
  refreshAccessToken,
  unwrap,
  validAccessToken,
  type Schemas,
} from "./client";
export { ApiError, errorMessage, fieldErrors, toApiError } from "./errors";
export { useSession, type Role, type SessionUser, type Tokens } from "./session";
