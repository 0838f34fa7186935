export * from "./sla";
export * from "./position";
export * from "./filters";
export * from "./types";
