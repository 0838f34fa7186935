export { LogLines, RunDetails } from "./run-details";
export { JsonTree, OutputViewer, TableView, isInlineFile } from "./output-viewer";
