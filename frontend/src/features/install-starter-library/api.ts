import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/shared/api";
import { templateKeys } from "@/entities/template";

export type InstallReport = Schemas["InstallReport"];
export type SkipReason = Schemas["SkipReason"];

/** Installs (or updates) the starter node library; the library list refetches. */
export function useInstallStarterLibrary() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/admin/library/starter")),
    onSuccess: () => qc.invalidateQueries({ queryKey: templateKeys.all }),
  });
}
