import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";

export type Template = Schemas["Template"];
export type TemplateSpec = Schemas["TemplateSpec"];
export type PortSpec = Schemas["PortSpec"];
export type ParamSpec = Schemas["ParamSpec"];
export type PortType = PortSpec["type"];
export type ParamKind = ParamSpec["kind"];

export const PORT_TYPES: PortType[] = [
  "string",
  "number",
  "integer",
  "boolean",
  "array",
  "object",
  "json",
  "file",
  "binary",
];
export const PARAM_KINDS: ParamKind[] = [
  "text",
  "textarea",
  "number",
  "boolean",
  "select",
  "multiselect",
  "file",
  "secret",
];

/** The server's limit maxima and the defaults a new template starts from. */
export type LimitSettings = Schemas["LimitSettings"];

export function useLimitSettings() {
  return useQuery({
    queryKey: ["settings", "limits"],
    queryFn: () => unwrap(api.GET("/api/admin/settings/limits")),
    staleTime: Infinity,
  });
}

export const templateKeys = {
  all: ["templates"] as const,
  list: (q?: string) => ["templates", "list", q ?? ""] as const,
  one: (name: string) => ["templates", "one", name] as const,
  versions: (name: string) => ["templates", "versions", name] as const,
  version: (name: string, v: number) => ["templates", "version", name, v] as const,
};

/** The library's latest versions; also used to start loading them ahead of the editor. */
export function templatesQuery(q?: string) {
  return queryOptions({
    queryKey: templateKeys.list(q),
    queryFn: () => unwrap(api.GET("/api/templates", { params: { query: { q: q || undefined } } })),
    staleTime: 30_000,
  });
}

export function useTemplates(q?: string) {
  return useQuery(templatesQuery(q));
}

export function useTemplate(name: string | null) {
  return useQuery({
    queryKey: templateKeys.one(name ?? ""),
    enabled: !!name,
    queryFn: () => unwrap(api.GET("/api/templates/{name}", { params: { path: { name: name! } } })),
  });
}

export function useTemplateVersions(name: string | null) {
  return useQuery({
    queryKey: templateKeys.versions(name ?? ""),
    enabled: !!name,
    queryFn: () =>
      unwrap(api.GET("/api/templates/{name}/versions", { params: { path: { name: name! } } })),
  });
}

export function fetchTemplateVersion(name: string, version: number) {
  return unwrap(
    api.GET("/api/templates/{name}/versions/{version}", { params: { path: { name, version } } }),
  );
}

export function useSaveTemplate() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ spec, isNew }: { spec: TemplateSpec; isNew: boolean }) =>
      isNew
        ? unwrap(api.POST("/api/templates", { body: spec }))
        : unwrap(
            api.PUT("/api/templates/{name}", { params: { path: { name: spec.name } }, body: spec }),
          ),
    onSuccess: () => qc.invalidateQueries({ queryKey: templateKeys.all }),
  });
}

export function useDeleteTemplate() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) =>
      unwrap(api.DELETE("/api/templates/{name}", { params: { path: { name } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: templateKeys.all }),
  });
}

/** The colour of a port type; handles, legends and edges share it. */
export const PORT_COLORS: Record<PortType, string> = {
  string: "#0ea5e9",
  number: "#f59e0b",
  integer: "#d97706",
  boolean: "#10b981",
  array: "#8b5cf6",
  object: "#6366f1",
  json: "#64748b",
  file: "#ec4899",
  binary: "#be123c",
};

export type TemplateTestResult = Schemas["TemplateTestResult"];

/**
 * Runs one saved template version once with sample values (admins). The
 * answer carries outputs and logs; nothing is stored. 422 field errors are
 * shown next to the fields, so the global toast stays quiet for them.
 */
export function useTestTemplate() {
  return useMutation({
    meta: { silent: true },
    mutationFn: ({
      name,
      version,
      inputs,
      params,
    }: {
      name: string;
      version: number;
      inputs: Record<string, unknown>;
      params: Record<string, unknown>;
    }) =>
      unwrap(
        api.POST("/api/templates/{name}/versions/{version}/test", {
          params: { path: { name, version } },
          body: { inputs, params },
        }),
      ),
  });
}
