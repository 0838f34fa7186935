export * from "./types";
export {
  checkConnection,
  findCycle,
  portCompatibility,
  validateGraph,
  wouldCreateCycle,
} from "./rules";
export type { Compatibility, ConnectionAttempt, ConnectionVerdict } from "./rules";
export { cloneSubgraph, extractSubgraph, nodeIdFor, uniqueId } from "./subgraph";
