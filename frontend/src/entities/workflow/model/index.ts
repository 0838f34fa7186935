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
export { compareGraphs, formatFieldValue, nodeFieldChanges } from "./graph-diff";
export type { ChangeState, EdgeDiff, FieldChange, GraphComparison, NodeDiff } from "./graph-diff";
