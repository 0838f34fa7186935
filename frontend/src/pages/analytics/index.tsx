import { useSession } from "@/shared/api";
import { PageHeader } from "@/shared/ui";
import { AnalyticsDashboard } from "@/widgets/analytics-dashboard";

/** `/admin/analytics` and `/client/analytics`: the dashboard on its own page. */
export default function AnalyticsPage() {
  const role = useSession((s) => s.user?.role);
  return (
    <>
      <PageHeader title={role === "client" ? "Overview" : "Dashboard"}>
        {role === "client"
          ? "Your tasks and results: what is done, what is late, what failed."
          : "Is work flowing, what is late, what fails — across every client."}
      </PageHeader>
      <AnalyticsDashboard title={role === "client" ? "Your numbers" : "All clients"} />
    </>
  );
}
