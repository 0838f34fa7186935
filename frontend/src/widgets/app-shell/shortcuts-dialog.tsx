import { Fragment, useEffect, useState } from "react";
import { isTypingTarget, modKeyLabel } from "@/shared/lib";
import { Dialog, Kbd } from "@/shared/ui";

/** The keyboard shortcuts, grouped by where they apply. */
export function shortcutGroups(mod: string): { title: string; keys: [string[], string][] }[] {
  return [
    {
      title: "Everywhere",
      keys: [
        [["?"], "Show this list"],
        [["Tab", "Shift+Tab"], "Move between controls"],
        [["Esc"], "Close a dialog or menu"],
      ],
    },
    {
      title: "Workflow editor",
      keys: [
        [[`${mod}+S`], "Save"],
        [[`${mod}+Z`], "Undo"],
        [[`${mod}+Shift+Z`], "Redo"],
        [[`${mod}+C`, `${mod}+V`], "Copy / paste nodes"],
        [[`${mod}+D`], "Duplicate the selection"],
        [[`${mod}+A`], "Select all nodes"],
        [["Delete", "Backspace"], "Delete the selection"],
        [["Shift+drag"], "Box select"],
        [["Esc"], "Clear the selection"],
      ],
    },
  ];
}

/** Opens on `?` (outside text fields) anywhere in the signed-in app. */
export function ShortcutsDialog() {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "?" || e.ctrlKey || e.metaKey || e.altKey) return;
      if (isTypingTarget(e.target)) return;
      e.preventDefault();
      setOpen(true);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <Dialog open={open} onOpenChange={setOpen} title="Keyboard shortcuts" wide>
      <div className="grid gap-5 sm:grid-cols-2" data-testid="shortcuts-dialog">
        {shortcutGroups(modKeyLabel).map((g) => (
          <section key={g.title} aria-label={g.title}>
            <h3 className="mb-2 text-sm font-semibold text-slate-800">{g.title}</h3>
            <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1.5 text-sm">
              {g.keys.map(([keys, what]) => (
                <Fragment key={what}>
                  <dt className="flex flex-wrap gap-1">
                    {keys.map((k) => (
                      <Kbd key={k}>{k}</Kbd>
                    ))}
                  </dt>
                  <dd className="text-slate-700">{what}</dd>
                </Fragment>
              ))}
            </dl>
          </section>
        ))}
      </div>
    </Dialog>
  );
}
