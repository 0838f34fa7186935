import { useSession } from "@/shared/api";
import { EmptyState, PageHeader } from "@/shared/ui";

export default function ClientRunsPage() {
  const user = useSession((s) => s.user);
  return (
    <>
      <PageHeader title="My results">
        Runs your manager published to you, {user?.displayName}.
      </PageHeader>
      <EmptyState title="No results published to you yet.">
        When your manager runs a workflow for you, its results appear here.
      </EmptyState>
    </>
  );
}
