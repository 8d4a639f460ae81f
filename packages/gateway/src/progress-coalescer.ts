/**
 * A node's progress (`job_accepted`, `job_progress`) recorded in Redis a moment later, and not
 * at all when the job's answer arrives first. The record (job-progress-4.lua) moves the job's
 * assignment check on to its attempt deadline and shows the state on the dashboard; a job that
 * is answered within the window needs neither, and a fast node answers most jobs within it: one
 * script per job less on the hot path.
 *
 * Losing a deferred record is safe (a gateway that dies inside the window): the assignment check
 * then re-sends the assignment, which the node treats as a repeat — the same as a lost
 * `job_accepted`. The window must stay well under LINGUA_ASSIGN_CHECK_MS (config.ts checks).
 */

export type ProgressState = 'accepted' | 'running';

export interface PendingProgress {
  jobId: string;
  attempt: number;
  to: ProgressState;
  /** when the node reported it (the record's timestamp) */
  at: number;
}

/** Pending records per connection; past this many they are written at once (memory bound). */
const MAX_PENDING = 4096;

export class ProgressCoalescer {
  private readonly pending = new Map<string, PendingProgress>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly windowMs: number,
    /** writes one record; must not throw (it reports its own failures) */
    private readonly write: (p: PendingProgress) => Promise<void>,
  ) {}

  /** The node reported progress: written after the window unless the answer comes first. */
  record(p: PendingProgress): Promise<void> {
    if (this.windowMs <= 0) return this.write(p);
    const key = `${p.jobId}|${p.attempt}`;
    // `running` after `accepted` is the later news; an `accepted` after `running` adds nothing.
    if (this.pending.get(key)?.to === 'running' && p.to === 'accepted') return Promise.resolve();
    this.pending.set(key, p);
    if (this.pending.size >= MAX_PENDING) return this.flush();
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.windowMs);
      this.timer.unref?.();
    }
    return Promise.resolve();
  }

  /** The attempt was answered (result or failure): its progress no longer needs recording. */
  settled(jobId: string, attempt: number): void {
    this.pending.delete(`${jobId}|${attempt}`);
  }

  /** Writes every pending record now. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const due = [...this.pending.values()];
    this.pending.clear();
    return Promise.all(due.map((p) => this.write(p))).then(() => undefined);
  }

  /** The connection closed: its jobs fail over anyway; nothing is written. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }
}
