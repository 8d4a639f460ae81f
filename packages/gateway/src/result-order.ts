/**
 * Per-session result orderer: releases results in strictly increasing utterance_index,
 * each index exactly once, as either a result or a missing marker.
 *
 * Pure: no I/O, no timers; every method takes `now` (ms). Items come from the session's
 * result log, where each index appears at most once but the same item may be pushed again
 * (redelivery) or late. The orderer never invents a missing marker itself: `tick` names the
 * gaps that waited long enough, the caller persists a missing marker (first writer wins) and
 * pushes whatever won (the marker or the real result) back through `push`.
 */

export interface OrderedItem<T> {
  index: number;
  kind: 'result' | 'missing';
  payload: T;
}

export interface ResultOrdererOptions {
  /** How long a gap may stay open after a later result arrived before it is declared missing. */
  gapTimeoutMs: number;
  /** First index to deliver; after a resume: last_result_index + 1. */
  nextIndex?: number;
  /** Window size: only indices in [nextIndex, nextIndex + maxHeld) are held. Default 1024. */
  maxHeld?: number;
}

/**
 * - `delivered`: the item was at nextIndex; `deliver` holds it and the held run behind it.
 * - `held`: the item is ahead of a gap and waits for it.
 * - `duplicate`: already delivered or already held; dropped and counted in `dropped`.
 * - `overflow`: the item is beyond the window (index >= nextIndex + maxHeld) and was NOT taken.
 *   Every gap below it is now due without waiting: call `tick(now)` right away, persist and
 *   push the missing markers it names (that slides the window), then push this item again;
 *   repeat while it overflows (each round resolves at most one window).
 */
export type PushStatus = 'delivered' | 'held' | 'duplicate' | 'overflow';

export interface PushOutcome<T> {
  status: PushStatus;
  /** Items deliverable now, in index order (the contiguous run starting at the old nextIndex). */
  deliver: OrderedItem<T>[];
}

export interface TickOutcome {
  /** Gap indices, ascending, for which the caller should persist a missing marker. */
  declareMissing: number[];
}

interface Held<T> {
  item: OrderedItem<T>;
  arrivedAt: number;
}

export const DEFAULT_MAX_HELD = 1024;

/** Shared by every orderer until its first insert; only read (or deleted from: a no-op) before. */
const NO_ENTRIES: ReadonlyMap<number, unknown> = new Map();

export class ResultOrderer<T> {
  private readonly gapTimeoutMs: number;
  private readonly maxHeld: number;
  private next: number;
  // Both start as the shared empty map and get their own on the first insert: an idle session's
  // orderer allocates no Map (see NO_ENTRIES).
  private heldItems: Map<number, Held<T>> = NO_ENTRIES as Map<number, Held<T>>;
  /** When tick last named each open gap index; it is not named again for gapTimeoutMs. */
  private declaredAt: Map<number, number> = NO_ENTRIES as Map<number, number>;
  /** After an overflow, gaps below `through` (the overflowed index) are due from `at`. */
  private forced: { through: number; at: number } | null = null;
  private droppedCount = 0;

  constructor(options: ResultOrdererOptions) {
    const { gapTimeoutMs, nextIndex = 0, maxHeld = DEFAULT_MAX_HELD } = options;
    if (!(gapTimeoutMs > 0)) throw new RangeError('gapTimeoutMs must be > 0');
    if (!Number.isInteger(nextIndex) || nextIndex < 0)
      throw new RangeError('nextIndex must be an integer >= 0');
    if (!Number.isInteger(maxHeld) || maxHeld < 1) throw new RangeError('maxHeld must be an integer >= 1');
    this.gapTimeoutMs = gapTimeoutMs;
    this.maxHeld = maxHeld;
    this.next = nextIndex;
  }

  /** The index the client receives next. */
  get nextIndex(): number {
    return this.next;
  }

  /** Items waiting behind a gap (at most maxHeld - 1). */
  get held(): number {
    return this.heldItems.size;
  }

  /**
   * True once the index's outcome is here: delivered, or held behind a gap. Nothing about
   * the index may follow it any more (a partial result, protocol v1.8).
   */
  has(index: number): boolean {
    return index < this.next || this.heldItems.has(index);
  }

  /** Duplicates dropped so far (redeliveries, late results after a missing marker). */
  get dropped(): number {
    return this.droppedCount;
  }

  push(item: OrderedItem<T>, now: number): PushOutcome<T> {
    const { index } = item;
    if (!Number.isInteger(index)) throw new RangeError(`index must be an integer, got ${index}`);
    if (index < this.next || this.heldItems.has(index)) {
      this.droppedCount++;
      return { status: 'duplicate', deliver: [] };
    }
    if (index >= this.next + this.maxHeld) {
      // A later result exists, but holding it would exceed the bound: stop waiting for the
      // gaps below it. tick names them one window at a time.
      this.forced = { through: Math.max(index, this.forced?.through ?? 0), at: this.forced?.at ?? now };
      return { status: 'overflow', deliver: [] };
    }
    if (index > this.next) {
      if (this.heldItems === NO_ENTRIES) this.heldItems = new Map();
      this.heldItems.set(index, { item, arrivedAt: now });
      return { status: 'held', deliver: [] };
    }

    const deliver = [item];
    this.next++;
    for (let h = this.heldItems.get(this.next); h; h = this.heldItems.get(this.next)) {
      this.heldItems.delete(this.next);
      deliver.push(h.item);
      this.next++;
    }
    for (const i of this.declaredAt.keys()) if (i < this.next) this.declaredAt.delete(i);
    if (this.forced && this.forced.through <= this.next) this.forced = null;
    return { status: 'delivered', deliver };
  }

  /**
   * Names every open gap index that a later held result has waited on for at least
   * gapTimeoutMs (counted from the earliest arrival among the held results above it), and
   * after an overflow every gap in the window. Gaps between held results are included, not
   * only those below the lowest held one, so one round resolves them all. An index named
   * once is named again only after another gapTimeoutMs, in case persisting it failed.
   */
  tick(now: number): TickOutcome {
    const declareMissing: number[] = [];
    this.scanGaps((index, dueAt) => {
      if (dueAt <= now) {
        declareMissing.push(index);
        if (this.declaredAt === NO_ENTRIES) this.declaredAt = new Map();
        this.declaredAt.set(index, now);
      }
    });
    return { declareMissing: declareMissing.reverse() };
  }

  /** When `tick` should run next; null while no gap is open. May be in the past. */
  nextDeadline(): number | null {
    let deadline: number | null = null;
    this.scanGaps((_, dueAt) => {
      if (deadline === null || dueAt < deadline) deadline = dueAt;
    });
    return deadline;
  }

  /** Visits each open gap index (descending) with the time it becomes due. O(maxHeld). */
  private scanGaps(visit: (index: number, dueAt: number) => void): void {
    let top = this.forced?.through ?? this.next; // exclusive
    for (const i of this.heldItems.keys()) if (i >= top) top = i + 1;
    top = Math.min(top, this.next + this.maxHeld);
    let earliestLater = Number.POSITIVE_INFINITY;
    for (let i = top - 1; i >= this.next; i--) {
      const h = this.heldItems.get(i);
      if (h) {
        earliestLater = Math.min(earliestLater, h.arrivedAt);
        continue;
      }
      let dueAt = earliestLater + this.gapTimeoutMs;
      if (this.forced && i < this.forced.through) dueAt = Math.min(dueAt, this.forced.at);
      const declared = this.declaredAt.get(i);
      if (declared !== undefined) dueAt = Math.max(dueAt, declared + this.gapTimeoutMs);
      visit(i, dueAt);
    }
  }
}
