export { cn } from "./cn";
export { hasModKey, isMac, isTypingTarget, modKeyLabel } from "./platform";
export { formatDateTime, formatDuration, pluralize } from "./format";
export { useDebounced } from "./use-debounced";
export { createSseParser, type SseMessage } from "./sse";
export { useWarnBeforeUnload } from "./use-warn-before-unload";
export { useCursorPages } from "./use-cursor-pages";
export { downloadCsv, neutralizeCell, toCsv, type CsvCell } from "./csv";
export { onLiveHint, publishLiveHint, type LiveHintKind } from "./live-hints";
