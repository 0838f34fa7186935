import { Button, Dialog } from "@/shared/ui";
import { useRevealedWebhooks } from "../model/revealed";
import { CopyField } from "./copy-field";

/**
 * Shows the URL and signing key of webhooks just created. The server hands
 * them out only in its answer to the creation, so this is the one chance to
 * copy them; closing the dialog forgets them.
 */
export function WebhookSecretDialog() {
  const items = useRevealedWebhooks((s) => s.items);
  const forget = useRevealedWebhooks((s) => s.forget);
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  return (
    <Dialog
      open={items.length > 0}
      onOpenChange={(o) => !o && forget()}
      wide
      title={items.length > 1 ? "Your new webhooks" : "Your new webhook"}
      description="Anyone with the URL can start this workflow; the key signs each call."
      footer={
        <Button variant="primary" onClick={forget}>
          I have copied them
        </Button>
      }
    >
      <div
        className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900"
        role="note"
        data-testid="shown-once-note"
      >
        <b>You will not see this again.</b> Copy the URL
        {items.some((i) => i.signingKey) ? " and the signing key" : ""} now and keep them somewhere
        safe. If they are lost, delete the trigger and add a new one.
      </div>
      <div className="space-y-5">
        {items.map((w) => (
          <section key={w.triggerId} aria-label={`Webhook ${w.name}`} className="space-y-2">
            {items.length > 1 && <h3 className="text-sm font-medium">{w.name}</h3>}
            <CopyField label="Webhook URL" value={origin + w.webhookPath} testId="webhook-url" />
            {w.signingKey && (
              <>
                <CopyField label="Signing key" value={w.signingKey} testId="webhook-key" />
                <p className="text-xs text-slate-500">
                  Send <code className="font-mono">X-Katalusis-Signature: sha256=&lt;hex&gt;</code>,
                  the HMAC-SHA256 of the request body with this key.
                </p>
              </>
            )}
          </section>
        ))}
      </div>
    </Dialog>
  );
}
