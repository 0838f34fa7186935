import { Button } from "@/shared/ui";
import type { RunMode } from "../model/use-submit-run";

export function RunButtons({
  starting,
  onRun,
}: {
  starting: RunMode | null;
  onRun: (mode: RunMode) => void;
}) {
  return (
    <>
      <Button
        size="sm"
        onClick={() => onRun("sync")}
        loading={starting === "sync"}
        title="Run and wait for the result"
      >
        Test run
      </Button>
      <Button
        size="sm"
        variant="primary"
        onClick={() => onRun("async")}
        loading={starting === "async"}
        title="Start a run in the background"
      >
        ▶ Run
      </Button>
    </>
  );
}
