import { Badge, Button, Checkbox } from "@/shared/ui";
import type { Run } from "@/entities/run";
import { useUpdateVisibility } from "../model/update-visibility";

/** What the client sees of this run, and the switches to change it. */
export function PublishControls({ run }: { run: Run }) {
  const update = useUpdateVisibility(run.id);
  return (
    <div
      className="flex flex-wrap items-center gap-3 border-b border-slate-200 px-3 py-1.5 text-xs"
      data-testid="publish-controls"
    >
      <span className="font-medium text-slate-700">Run #{run.id}</span>
      {run.published ? (
        <Badge tone="green">Published to the client</Badge>
      ) : (
        <Badge tone="amber">Not published</Badge>
      )}
      <Button
        size="sm"
        variant={run.published ? "secondary" : "primary"}
        loading={update.isPending && update.variables?.published !== undefined}
        onClick={() => update.mutate({ published: !run.published })}
      >
        {run.published ? "Unpublish" : "Publish to client"}
      </Button>
      <Checkbox
        className="text-xs"
        label="Share logs with the client"
        checked={run.logsVisibleToClient}
        disabled={update.isPending}
        onChange={(e) => update.mutate({ logsVisibleToClient: e.target.checked })}
      />
    </div>
  );
}
