export { RunDetails } from "./run-details";
export { JsonTree, OutputViewer, TableView } from "./output-viewer";
