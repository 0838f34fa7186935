import type { ReactNode } from "react";
import type { TemplateSpec } from "@/entities/template";

export type SetSpecField = <K extends keyof TemplateSpec>(k: K, v: TemplateSpec[K]) => void;

/** Renders the "Test node" tab (the page composes the test panel here). */
export type TestPanel = (args: {
  name: string;
  version: number;
  spec: TemplateSpec;
  dirty: boolean;
}) => ReactNode;
