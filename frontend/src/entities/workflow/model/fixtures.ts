import type { PortType } from "@/entities/template";
import type { Graph, TemplateInfo, TemplateLookup } from "./types";

/** Test templates: `text.upper` (string→string), `math.double` (number→number), `json.any` (json→json). */
export function port(name: string, type: PortType, required = false) {
  return { name, type, required, description: "" };
}

export const testTemplates: TemplateInfo[] = [
  {
    name: "text.upper",
    version: 1,
    title: "Uppercase",
    inputs: [port("text", "string", true)],
    outputs: [port("text", "string")],
    parameters: [],
  },
  {
    name: "math.double",
    version: 1,
    title: "Double",
    inputs: [port("x", "number", true)],
    outputs: [port("y", "number"), port("n", "integer")],
    parameters: [
      {
        name: "factor",
        label: "Factor",
        kind: "number",
        required: true,
        min: 1,
        max: 10,
        options: [],
        help: "",
      },
    ],
  },
  {
    name: "json.any",
    version: 1,
    title: "Any",
    inputs: [port("value", "json")],
    outputs: [port("value", "json")],
    parameters: [],
  },
];

export const testLookup: TemplateLookup = (ref) =>
  testTemplates.find((t) => t.name === ref.name && t.version === ref.version);

export function graphOf(...nodes: [string, string][]): Graph {
  return {
    nodes: nodes.map(([id, name], i) => ({
      id,
      template: { name, version: 1 },
      position: { x: i * 200, y: 0 },
      params: {},
    })),
    edges: [],
  };
}
