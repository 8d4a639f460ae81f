/**
 * The connect/reconnect loop both SDKs share: one transport at a time, opened to the URLs in
 * turn (each reconnect tries the next, so a session can resume and a node re-register on
 * another gateway), a deadline for the owner's handshake (session_init_ack, node_register_ack),
 * and exponential backoff between attempts, reset by a completed handshake.
 *
 * The owner (LinguaSession, LinguaNode) speaks the protocol; this class only owns the socket.
 * Events of a transport that was replaced or dropped are ignored. Browser-safe like the rest
 * of `@lingua/protocol/sdk`.
 */
import { type BackoffOptions, backoffDelay } from './backoff';
import { abandonTransport, type Transport, type TransportFactory, type TransportOptions } from './transport';

export interface ConnectionOptions {
  urls: readonly string[];
  factory: TransportFactory;
  /** per connection attempt (e.g. a fresh token); without it the factory gets only the URL */
  transportOptions?: () => TransportOptions;
  reconnect?: BackoffOptions;
  /** a connection whose handshake is not `established()` this long after opening is dropped */
  handshakeTimeoutMs: number;
  /** the reason the dropped connection is given, e.g. `connect timeout` */
  handshakeTimeoutReason: string;
}

export interface ConnectionHandlers {
  /** The socket opened: send the first frame. */
  open(): void;
  text(text: string): void;
  /** v1.12: a binary frame (only transports with `binary: true` deliver them) */
  binary?(bytes: Uint8Array): void;
  /**
   * The current transport is gone: closed by the peer or the network, or dropped (`drop()`,
   * the handshake deadline). A reconnect follows unless the owner calls `stop()` meanwhile.
   */
  lost(code: number, reason: string): void;
  /** The factory threw for `url` (e.g. a malformed URL): nothing more is tried. */
  fatal(error: Error, url: string): void;
}

export class Connection {
  private current: Transport | null = null;
  private urlIndex = 0;
  private attempt = 0;
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly on: ConnectionHandlers,
  ) {
    if (opts.urls.length === 0) throw new TypeError('urls must be a non-empty array');
  }

  /** The current transport delivers binary frames (v1.12). */
  get binary(): boolean {
    return this.current?.binary === true;
  }

  /** The current transport can send binary frames (v1.13). */
  get sendsBinary(): boolean {
    return typeof this.current?.sendBinary === 'function';
  }

  /** A transport exists (it may still be opening). */
  get connected(): boolean {
    return this.current !== null;
  }

  /** Opens a transport to the current URL. */
  connect(): void {
    this.reconnectTimer = undefined;
    if (this.stopped) return;
    const urls = this.opts.urls;
    const url = urls[this.urlIndex % urls.length]!;
    let t: Transport;
    try {
      t = this.opts.transportOptions
        ? this.opts.factory(url, this.opts.transportOptions())
        : this.opts.factory(url);
    } catch (err) {
      this.on.fatal(err as Error, url);
      return;
    }
    this.current = t;
    this.handshakeTimer = setTimeout(
      () => this.dropTransport(t, this.opts.handshakeTimeoutReason),
      this.opts.handshakeTimeoutMs,
    );
    t.onopen = () => {
      if (t === this.current) this.on.open();
    };
    t.onmessage = (text) => {
      if (t === this.current) this.on.text(text);
    };
    t.onbinary = (bytes) => {
      if (t === this.current) this.on.binary?.(bytes);
    };
    t.onclose = (code, reason) => {
      if (t === this.current) this.onLost(code, reason);
    };
  }

  /** The owner's handshake completed: no deadline any more, and the backoff starts over. */
  established(): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.attempt = 0;
  }

  /** Sends one text frame; false when there is no open transport (nothing was sent). */
  send(text: string): boolean {
    const t = this.current;
    if (!t) return false;
    try {
      t.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends one binary frame; false when there is no open transport or it cannot (nothing was sent). */
  sendBinary(bytes: Uint8Array): boolean {
    const t = this.current;
    if (!t?.sendBinary) return false;
    try {
      t.sendBinary(bytes);
      return true;
    } catch {
      return false;
    }
  }

  /** Gives up on the current transport without waiting for a close handshake, and reconnects. */
  drop(reason: string): void {
    if (this.current) this.dropTransport(this.current, reason);
  }

  /**
   * No more reconnects or events; returns the current transport, detached (the owner closes it
   * its own way), or null.
   */
  stop(): Transport | null {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.handshakeTimer);
    this.reconnectTimer = undefined;
    this.handshakeTimer = undefined;
    const t = this.current;
    this.current = null;
    return t;
  }

  private dropTransport(t: Transport, reason: string): void {
    if (t !== this.current) return;
    abandonTransport(t, 4000, reason);
    this.onLost(4000, reason);
  }

  private onLost(code: number, reason: string): void {
    this.current = null;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.on.lost(code, reason);
    if (this.stopped) return; // the owner closed (or a listener closed it)
    const delay = backoffDelay(this.attempt++, this.opts.reconnect);
    this.urlIndex++;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}
