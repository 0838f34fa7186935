import { useBlocker } from "react-router";
import { useWarnBeforeUnload } from "@/shared/lib";
import { Button, Dialog } from "@/shared/ui";

/** Unsaved-changes guard: in-app navigation asks, closing the tab warns. */
export function LeaveGuard({ dirty }: { dirty: boolean }) {
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      dirty && currentLocation.pathname !== nextLocation.pathname,
  );
  useWarnBeforeUnload(dirty);

  return (
    <Dialog
      open={blocker.state === "blocked"}
      onOpenChange={(o) => !o && blocker.reset?.()}
      title="Leave without saving?"
      description="Your changes to this workflow are not saved."
      footer={
        <>
          <Button onClick={() => blocker.reset?.()}>Stay</Button>
          <Button variant="danger" onClick={() => blocker.proceed?.()}>
            Discard changes
          </Button>
        </>
      }
    />
  );
}
