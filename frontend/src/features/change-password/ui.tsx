import { useState, type FormEvent } from "react";
import { api, fieldErrors, toApiError } from "@/shared/api";
import { Button, Dialog, Field, Input, toast } from "@/shared/ui";

export function ChangePasswordDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (next !== confirm) return setErrors({ confirm: "The passwords do not match." });
    if (next.length < 10) return setErrors({ newPassword: "At least 10 characters." });
    setBusy(true);
    setErrors({});
    const { error, response } = await api.POST("/api/auth/password", {
      body: { currentPassword: current, newPassword: next },
    });
    setBusy(false);
    if (!response.ok) {
      const err = toApiError(response, error);
      const fields = fieldErrors(err);
      setErrors(Object.keys(fields).length ? fields : { currentPassword: err.message });
      return;
    }
    toast.success("Password changed. Other sessions were signed out.");
    onOpenChange(false);
    setCurrent("");
    setNext("");
    setConfirm("");
  }

  return (
    <Dialog open={open} onOpenChange={onOpenChange} title="Change password">
      <form onSubmit={submit} className="space-y-3">
        <Field label="Current password" error={errors.currentPassword}>
          {(id) => (
            <Input
              id={id}
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
              required
            />
          )}
        </Field>
        <Field label="New password" error={errors.newPassword} hint="At least 10 characters.">
          {(id) => (
            <Input
              id={id}
              type="password"
              autoComplete="new-password"
              value={next}
              onChange={(e) => setNext(e.target.value)}
              required
            />
          )}
        </Field>
        <Field label="Repeat new password" error={errors.confirm}>
          {(id) => (
            <Input
              id={id}
              type="password"
              autoComplete="new-password"
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
              required
            />
          )}
        </Field>
        <div className="flex justify-end gap-2 pt-2">
          <Button onClick={() => onOpenChange(false)}>Cancel</Button>
          <Button type="submit" variant="primary" loading={busy}>
            Change password
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
