import { memo, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { defaultRangeExtractor, useVirtualizer, type Range } from "@tanstack/react-virtual";
import { cn } from "@/shared/lib";
import type { Task } from "@/entities/task";
import { markerAt, slotAt } from "./drop-slot";
import { TaskCard } from "./task-card";

export const DRAG_TYPE = "application/x-katalusis-task";

/** Space between cards and above the first / below the last (room for the drop marker). */
const GAP = 8;
const PAD = 4;
/** A card with a one-line title and no tags; real heights are measured. */
const CARD_ESTIMATE = 104;
const OVERSCAN = 6;
/** The drop target's outline, toggled on the element so a drag renders nothing. */
const TARGET_RING = ["ring-2", "ring-indigo-400"];

export interface Status {
  id: number;
  name: string;
}

/**
 * One column (or one swimlane's part of it). Only the cards in view (plus
 * overscan) are in the DOM; the card being dragged and the focused card are
 * always kept, so a drag can end on its source and keyboard focus survives
 * scrolling. A drag over the column reads no card geometry: the drop slot
 * comes from the virtualizer's measurements, and the marker is one element
 * moved with a transform, so pointer moves cause no React render and no
 * layout.
 */
export const BoardColumn = memo(function BoardColumn({
  status,
  laneKey,
  laneLabel,
  cards,
  count,
  dragId,
  focusId,
  geometry,
  name,
  onOpen,
  onKeyDown,
  onDragStart,
  onDragEnd,
  onDropCard,
  quickAdd,
}: {
  status: Status;
  /** The swimlane (`null` without swimlanes). */
  laneKey: string | null;
  laneLabel: string;
  /** The column's cards in board order. */
  cards: Task[];
  /** The number shown in the header. */
  count: number;
  dragId: number | null;
  /** The card keyboard navigation wants focused. */
  focusId: number | null;
  /** Bumped whenever anything on the board scrolls (cached rects go stale). */
  geometry: React.RefObject<number>;
  name: (id: number) => string;
  onOpen: (id: number) => void;
  onKeyDown: (e: React.KeyboardEvent, task: Task) => void;
  onDragStart: (e: React.DragEvent, task: Task) => void;
  onDragEnd: () => void;
  /** A card dropped at `index` of `shown` (this swimlane's part of the column), or of the whole column. */
  onDropCard: (taskId: number, statusId: number, index: number, shown?: Task[]) => void;
  quickAdd?: (status: Status) => ReactNode;
}) {
  const section = useRef<HTMLElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const marker = useRef<HTMLDivElement>(null);
  const [activeId, setActiveId] = useState<number | null>(null);
  const laned = laneKey != null;

  const indexOf = useCallback(
    (id: number | null) => (id == null ? -1 : cards.findIndex((t) => t.id === id)),
    [cards],
  );
  const focusIndex = indexOf(focusId);
  const pinned = useMemo(
    () => [indexOf(dragId), focusIndex, indexOf(activeId)].filter((i) => i >= 0),
    [indexOf, dragId, focusIndex, activeId],
  );
  const rangeExtractor = useCallback(
    (range: Range) => {
      const shown = defaultRangeExtractor(range);
      const extra = pinned.filter((i) => !shown.includes(i));
      return extra.length ? [...new Set([...shown, ...extra])].sort((a, b) => a - b) : shown;
    },
    [pinned],
  );
  const getItemKey = useCallback((i: number) => cards[i]?.id ?? i, [cards]);
  const virtual = useVirtualizer({
    count: cards.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => CARD_ESTIMATE,
    getItemKey,
    gap: GAP,
    paddingStart: PAD,
    paddingEnd: PAD,
    overscan: OVERSCAN,
    rangeExtractor,
  });

  // Keyboard focus follows a card into this column (a move, a rollback).
  useEffect(() => {
    if (focusId == null || focusIndex < 0) return;
    scroller.current?.querySelector<HTMLElement>(`[data-task-id="${focusId}"]`)?.focus();
  }, [focusId, focusIndex]);

  // The list's top on screen, read once per drag over this column and again
  // only after something scrolled.
  const top = useRef<{ gen: number; y: number } | null>(null);
  const slotFor = (clientY: number) => {
    const el = scroller.current!;
    if (top.current?.gen !== geometry.current)
      top.current = { gen: geometry.current, y: el.getBoundingClientRect().top };
    const y = clientY - top.current.y + el.scrollTop;
    return slotAt(virtual.getVirtualItemForOffset(y), y);
  };
  const shownSlot = useRef(-1);
  const showMarker = (slot: number) => {
    if (shownSlot.current === slot) return;
    if (shownSlot.current < 0) section.current?.classList.add(...TARGET_RING);
    shownSlot.current = slot;
    const m = marker.current!;
    const y = markerAt((i) => virtual.measurementsCache[i], slot, cards.length, GAP);
    m.style.transform = `translateY(${Math.max(0, y - 1)}px)`;
    m.dataset.slot = String(slot);
    m.hidden = false;
  };
  const hideMarker = useCallback(() => {
    if (shownSlot.current < 0) return;
    shownSlot.current = -1;
    section.current?.classList.remove(...TARGET_RING);
    if (marker.current) marker.current.hidden = true;
  }, []);
  // A drag that ends anywhere (dropped elsewhere, cancelled) clears the marker.
  useEffect(() => {
    if (dragId == null) hideMarker();
  }, [dragId, hideMarker]);

  return (
    <section
      ref={section}
      aria-label={laned ? `${status.name} column, ${laneLabel}` : `${status.name} column`}
      data-status={status.name}
      data-lane={laneKey ?? undefined}
      className="flex w-72 shrink-0 flex-col rounded-lg bg-slate-100 p-2"
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes(DRAG_TYPE)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "move";
        showMarker(slotFor(e.clientY));
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node)) hideMarker();
      }}
      onDrop={(e) => {
        e.preventDefault();
        const id = Number(e.dataTransfer.getData(DRAG_TYPE));
        const slot = slotFor(e.clientY);
        hideMarker();
        if (id) onDropCard(id, status.id, slot, laned ? cards : undefined);
      }}
    >
      <h2 className="flex items-center justify-between px-1 pb-2 text-sm font-semibold text-slate-800">
        <span>{status.name}</span>
        <span
          className="rounded-full bg-white px-2 text-xs font-medium text-slate-700"
          data-testid="column-count"
        >
          {count}
        </span>
      </h2>
      <div
        ref={scroller}
        className={cn("relative min-h-12 flex-1 overflow-y-auto", laned && "max-h-[28rem]")}
        data-testid="column-scroller"
      >
        <ol
          className="relative"
          style={{ height: virtual.getTotalSize() }}
          onFocus={(e) => setActiveId(Number(e.target.dataset.taskId) || null)}
          onBlur={(e) => {
            if (!e.currentTarget.contains(e.relatedTarget as Node)) setActiveId(null);
          }}
        >
          {virtual.getVirtualItems().map((v) => {
            const t = cards[v.index];
            if (!t) return null;
            return (
              <TaskCard
                key={t.id}
                task={t}
                index={v.index}
                start={v.start}
                measure={virtual.measureElement}
                name={name}
                dragging={dragId === t.id}
                onOpen={onOpen}
                onKeyDown={onKeyDown}
                onDragStart={onDragStart}
                onDragEnd={onDragEnd}
              />
            );
          })}
        </ol>
        <div
          ref={marker}
          hidden
          aria-hidden="true"
          data-testid="drop-marker"
          className="pointer-events-none absolute inset-x-0 top-0 h-0.5 rounded bg-indigo-500"
        />
      </div>
      {quickAdd && !laned && <div className="pt-2">{quickAdd(status)}</div>}
    </section>
  );
});
