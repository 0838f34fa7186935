export {
  CONNECTION_KINDS,
  TLS_MODES,
  connectionKeys,
  useConnections,
  useDeleteConnection,
  useSaveConnection,
  useTestConnection,
  useUsableConnections,
  type Connection,
  type ConnectionInput,
  type TestResult,
  type UsableConnection,
} from "./api";
