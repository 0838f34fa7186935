export * from "./types";
export {
  checkConnection,
  findCycle,
  portCompatibility,
  validateGraph,
  wouldCreateCycle,
} from "./rules";
export type { Compatibility, ConnectionAttempt, ConnectionVerdict } from "./rules";
export {
  createEditorStore,
  isClipboard,
  remapPaste,
  type Clipboard,
  type EditorState,
  type EditorStore,
} from "./editor-store";
