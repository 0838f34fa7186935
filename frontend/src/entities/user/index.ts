export {
  useAllUsers,
  useClientsOfManager,
  useCreateUser,
  useManagersOfClient,
  myClientsQuery,
  useMyClients,
  useResetPassword,
  useSetAssignment,
  useUpdateUser,
  useUsers,
  userKeys,
  type User,
  type UserFilter,
} from "./api";
export { RoleBadge } from "./ui";
export { useUserNames } from "./names";
export { usePeople, type Person } from "./people";
