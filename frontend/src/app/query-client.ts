import { MutationCache, QueryClient } from "@tanstack/react-query";
import { ApiError, useSession } from "@/shared/api";
import { toast } from "@/shared/ui";

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      staleTime: 5_000,
    },
  },
  mutationCache: new MutationCache({
    // Every failed mutation shows the server's message unless the caller handles it.
    onError: (error, _v, _c, mutation) => {
      if (mutation.meta?.silent) return;
      toast.error(error);
    },
  }),
});

// A session that ended elsewhere (revoked, expired) drops cached data of the old user.
useSession.subscribe((s, prev) => {
  if (prev.user && !s.user) queryClient.clear();
});
