/**
 * A tiny typed event emitter that works in browsers and Node. Unlike Node's EventEmitter an
 * `error` event without listeners is simply dropped, and a throwing listener does not corrupt
 * the SDK's state: its exception is rethrown on a fresh task.
 */
// biome-ignore lint/suspicious/noExplicitAny: listener parameter lists are checked per event map
type AnyListener = (...args: any[]) => void;

export type EventMap<E> = { [K in keyof E]: AnyListener };

export class Emitter<E extends EventMap<E>> {
  private readonly listeners = new Map<keyof E, Array<{ fn: AnyListener; once: boolean }>>();

  on<K extends keyof E>(event: K, fn: E[K]): this {
    return this.add(event, fn, false);
  }

  once<K extends keyof E>(event: K, fn: E[K]): this {
    return this.add(event, fn, true);
  }

  off<K extends keyof E>(event: K, fn: E[K]): this {
    const list = this.listeners.get(event);
    if (list) {
      const i = list.findIndex((l) => l.fn === fn);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return;
    for (const l of [...list]) {
      if (l.once) this.off(event, l.fn as E[K]);
      try {
        l.fn(...args);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }

  private add<K extends keyof E>(event: K, fn: E[K], once: boolean): this {
    let list = this.listeners.get(event);
    if (!list) {
      list = [];
      this.listeners.set(event, list);
    }
    list.push({ fn, once });
    return this;
  }
}
