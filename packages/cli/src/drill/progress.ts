/**
 * Drill output on stderr: phase lines ("fault: ...") and, once a second, a progress line.
 * On a TTY the progress line rewrites itself in place; otherwise each is a plain line.
 * `quiet` silences both (the summary still goes to stdout).
 */
import type { LoadSnapshot } from './load';

export function progressLine(label: string, elapsedMs: number, s: LoadSnapshot): string {
  return (
    `[${label} +${(elapsedMs / 1000).toFixed(1)}s] sessions ${s.open}/${s.sessions} open · sent ${s.sent} · ` +
    `accepted ${s.accepted} · delivered ${s.delivered} · missing ${s.missing} · in-flight ${s.inFlight} · ` +
    `resumes ${s.reconnects}`
  );
}

export class Progress {
  private live = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly quiet: boolean,
  ) {}

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  /** A line that stays (ends a live progress line first). */
  say(msg: string): void {
    if (this.quiet) return;
    this.endLive();
    this.out.write(`${msg}\n`);
  }

  tick(line: string): void {
    if (this.quiet) return;
    if (this.tty) {
      this.out.write(`\r\x1b[2K${line}`);
      this.live = true;
    } else this.out.write(`${line}\n`);
  }

  endLive(): void {
    if (this.live) this.out.write('\n');
    this.live = false;
  }
}
