export { AskAiBar } from "./ui/ask-ai";
export { ProposalDiff } from "./ui/proposal-diff";
export { acceptedGraph, diffGraphs, type GraphDiff } from "./model/diff";
export type { Proposal } from "./model/api";
