/**
 * The simulated compute node: deterministic fake ASR/NMT/TTS (docs/protocol.md "The simulated
 * node's deterministic output") with configurable latency, failures and silence.
 */
import { createHash } from 'node:crypto';
import { fromBase64, type Transport, type TransportFactory, toBase64 } from '@lingua/protocol/sdk';
import { defaultTransportFactory } from '@lingua/protocol/sdk/ws';
import {
  type JobHandler,
  type JobOutcome,
  jobAudio,
  LinguaNode,
  type LinguaNodeOptions,
  type Resource,
} from './node';
import { mulberry32 } from './prng';

export interface SimOutput {
  text_asr: string;
  text_translated: string;
  tts_audio?: string;
  tts_format?: string;
}

/** What the simulated node answers for `audio` (the decoded bytes of job_assign.audio). */
export function simulatedOutput(audio: Uint8Array, src: string, tgt: string, tts: boolean): SimOutput {
  const digest = createHash('sha256').update(audio).digest();
  const h = digest.toString('hex').slice(0, 16);
  const out: SimOutput = { text_asr: `${src}:${h}`, text_translated: `${tgt}:${h}` };
  if (tts) {
    out.tts_audio = toBase64(new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength));
    out.tts_format = 'pcm16';
  }
  return out;
}

/**
 * The simulated language ID of a two-way job (v1.11): bit 0 of sha256(audio)'s first byte picks
 * the direction, 0 = a -> b, 1 = b -> a. Deterministic, so tests predict it.
 */
export function simulatedDirection(audio: Uint8Array, a: string, b: string): { src: string; tgt: string } {
  const first = createHash('sha256').update(audio).digest()[0]!;
  return (first & 1) === 0 ? { src: a, tgt: b } : { src: b, tgt: a };
}

export interface SimBehavior {
  /** Delay before answering: a fixed number of ms or a uniform [min, max] range. Default 0. */
  latencyMs?: number | [number, number];
  /** Probability 0..1 of answering `success: false` with SIM_FAILURE (retryable). Default 0. */
  failureRate?: number;
  /** Accept jobs and never answer (they end only by job_cancel or close). */
  silent?: boolean;
  /** Seed for the failure/latency PRNG; random when absent. */
  seed?: number;
  /**
   * Context (protocol v1.8): append ` [context <i>,<j>,…]` (the `utterance_index` of each
   * `job_assign.context` entry, `-` for none) to `text_translated`, so a test sees at the
   * client what the node saw. Off by default: the output is then exactly the documented one.
   */
  echoContext?: boolean;
  /**
   * Partial results (protocol v1.8): this many `job_progress` frames before the result, spread
   * evenly over its latency; the k-th of n carries the first ceil(16·k/(n+1)) hex characters of
   * the final texts (see simulatedPartial). Default 0.
   */
  partials?: number;
}

/**
 * Models a simulated node has lost (protocol v1.7): jobs of a lost pair are answered
 * MODEL_NOT_AVAILABLE at once, and heartbeats leave the pair out of `models` until `restore`.
 */
export class ModelSwitch {
  private readonly lostPairs = new Set<string>();

  lose(pair: string): void {
    this.lostPairs.add(pair);
  }
  restore(pair: string): void {
    this.lostPairs.delete(pair);
  }
  isLost(src: string, tgt: string): boolean {
    return this.lostPairs.has(`${src}:${tgt}`);
  }
  /** `pools` (the pairs the node serves) without the lost ones. */
  loaded(pools: readonly string[]): string[] {
    return pools.filter((p) => !this.lostPairs.has(p));
  }
}

/** The k-th (1-based) of n partial results the simulated node sends before `out`. */
export function simulatedPartial(
  out: SimOutput,
  k: number,
  n: number,
): { text_asr: string; text_translated: string } {
  const cut = (text: string) => {
    const colon = text.indexOf(':') + 1;
    return text.slice(0, colon + Math.ceil((16 * k) / (n + 1)));
  };
  return { text_asr: cut(out.text_asr), text_translated: cut(out.text_translated) };
}

/** The simulated node's job handler. Each job draws two numbers (failure, latency) in order. */
export function createSimHandler(behavior: SimBehavior = {}, models?: ModelSwitch): JobHandler {
  const rng = mulberry32(behavior.seed ?? Math.floor(Math.random() * 2 ** 32));
  const failureRate = behavior.failureRate ?? 0;
  const [minMs, maxMs] = latencyRange(behavior.latencyMs);

  const partials = behavior.partials ?? 0;
  if (!Number.isInteger(partials) || partials < 0)
    throw new RangeError(`partials must be an integer >= 0, got ${partials}`);
  return async (job, { signal, progress }): Promise<JobOutcome> => {
    const started = performance.now();
    if (behavior.silent) return waitForAbort(signal);
    if (models?.isLost(job.src_lang, job.tgt_lang)) {
      return {
        success: false,
        error: {
          code: 'MODEL_NOT_AVAILABLE',
          message: `simulated: no model for ${job.src_lang}:${job.tgt_lang}`,
          retryable: true,
        },
        processing_ms: 0,
      };
    }
    const fail = rng() < failureRate;
    const latency = minMs + (maxMs - minMs) * rng();
    const audio = jobAudio(job);
    const twoWay = job.features?.two_way === true;
    const dir = twoWay
      ? simulatedDirection(audio, job.src_lang, job.tgt_lang)
      : { src: job.src_lang, tgt: job.tgt_lang };
    const out = simulatedOutput(audio, dir.src, dir.tgt, job.features?.tts === true);
    for (let k = 1; k <= partials; k++) {
      await sleep(latency / (partials + 1), signal);
      progress(simulatedPartial(out, k, partials));
    }
    await sleep(partials > 0 ? latency / (partials + 1) : latency, signal);
    const processing_ms = Math.round(performance.now() - started);
    if (fail) {
      return {
        success: false,
        error: {
          code: 'SIM_FAILURE',
          message: `simulated failure for job ${job.job_id} attempt ${job.attempt}`,
          retryable: true,
        },
        processing_ms,
      };
    }
    if (behavior.echoContext) {
      const seen = (job.context ?? []).map((c) => c.utterance_index).join(',') || '-';
      out.text_translated += ` [context ${seen}]`;
    }
    return {
      success: true,
      ...out,
      // As bytes: a binaryAudio node sends them as a binary job_result (v1.13), others as base64.
      ...(out.tts_audio ? { tts_audio: fromBase64(out.tts_audio) } : {}),
      processing_ms,
      ...(twoWay ? { src_lang: dir.src, tgt_lang: dir.tgt } : {}),
    };
  };
}

/**
 * What a node that goes silent stops doing:
 * - `all`: a hung process. Nothing is sent any more (no heartbeats, job_accepted, results) and
 *   nothing received is acted on, yet the socket stays open: only the heartbeat timeout notices.
 * - `jobs`: a wedged model worker. Heartbeats (and job_accepted) continue, results and progress
 *   are never sent: the node looks healthy and only the job timeout notices.
 */
export type SilenceScope = 'all' | 'jobs';

/**
 * A switch that makes a simulated node go silent on the wire at a chosen moment while its
 * socket stays open (failure drills). Flip it with `silence()`; it cannot be turned back.
 */
export class SilenceSwitch {
  private since: number | null = null;

  constructor(readonly scope: SilenceScope = 'all') {}

  get silent(): boolean {
    return this.since !== null;
  }
  /** Epoch ms the node went silent, or null. */
  get silentSince(): number | null {
    return this.since;
  }

  silence(now = Date.now()): void {
    this.since ??= now;
  }

  /** Whether an outgoing frame is swallowed now. */
  drops(text: string): boolean {
    if (this.since === null) return false;
    if (this.scope === 'all') return true;
    let type: unknown;
    try {
      type = (JSON.parse(text) as { type?: unknown }).type;
    } catch {
      return false;
    }
    return type === 'job_result' || type === 'job_progress';
  }

  /** Wraps a transport factory: sends pass through the switch, receives stop under scope `all`. */
  wrap(factory: TransportFactory): TransportFactory {
    return (url) => {
      const inner = factory(url);
      let onmessage: Transport['onmessage'] = null;
      const deaf = () => this.silent && this.scope === 'all';
      return {
        send: (text) => {
          if (!this.drops(text)) inner.send(text);
        },
        close: (code, reason) => inner.close(code, reason),
        get onopen() {
          return inner.onopen;
        },
        set onopen(fn) {
          inner.onopen = fn;
        },
        get onclose() {
          return inner.onclose;
        },
        set onclose(fn) {
          inner.onclose = fn;
        },
        get onmessage() {
          return onmessage;
        },
        set onmessage(fn) {
          onmessage = fn;
          inner.onmessage = fn
            ? (text) => {
                if (!deaf()) fn(text);
              }
            : null;
        },
      };
    };
  }
}

/**
 * The load the simulated node reports in its heartbeats (`resource`, fractions 0..1; protocol
 * v1.9: a gateway skips a node above its hot threshold while cooler nodes have room). Set it
 * at any time; the next heartbeat carries it. Undefined reports no load.
 */
export class LoadDial {
  private value: Resource | undefined;
  constructor(initial?: Resource) {
    this.value = initial;
  }
  set(resource: Resource | undefined): void {
    this.value = resource ? { ...resource } : undefined;
  }
  get(): Resource | undefined {
    return this.value;
  }
}

/** `cpu=0.9,gpu=0.2`, or one fraction for all three (`0.9`); throws on anything else. */
export function parseLoad(s: string): Resource {
  const frac = (v: string, what: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
      throw new RangeError(`${what} must be a fraction in [0, 1], got ${v}`);
    return n;
  };
  if (!s.includes('=')) {
    const f = frac(s, 'load');
    return { cpu: f, gpu: f, mem: f };
  }
  const out: Resource = {};
  for (const part of s.split(',')) {
    const [k, v = ''] = part.split('=');
    if (k !== 'cpu' && k !== 'gpu' && k !== 'mem') throw new RangeError(`load: unknown part ${k}`);
    out[k] = frac(v, k);
  }
  return out;
}

export type SimNodeOptions = Omit<
  LinguaNodeOptions,
  'handler' | 'services' | 'asrLangs' | 'ttsLangs' | 'maxConcurrentJobs'
> &
  Partial<Pick<LinguaNodeOptions, 'services' | 'asrLangs' | 'ttsLangs' | 'maxConcurrentJobs'>> &
  SimBehavior & {
    /** Lets the caller make the node go silent later (see SilenceSwitch). */
    silence?: SilenceSwitch;
    /**
     * Registers warming up (protocol v1.7 `ready: false`) and marks itself ready this long
     * after its first registration, like a node loading its models.
     */
    warmupMs?: number;
    /** Lets the caller make the node lose (and get back) models of a pair (see ModelSwitch). */
    modelSwitch?: ModelSwitch;
    /** The load its heartbeats report (v1.9); ignored when `resource` is given. */
    load?: LoadDial;
  };

/** A LinguaNode answering like the simulated node; call `start()` on it. */
export function createSimNode(opts: SimNodeOptions): LinguaNode {
  const {
    latencyMs,
    failureRate,
    silent,
    seed,
    partials,
    echoContext,
    silence,
    warmupMs,
    modelSwitch: models,
    load,
    ...nodeOpts
  } = opts;
  if (silence) nodeOpts.transportFactory = silence.wrap(nodeOpts.transportFactory ?? defaultTransportFactory);
  if (warmupMs !== undefined && !(warmupMs >= 0))
    throw new RangeError(`warmupMs must be >= 0, got ${warmupMs}`);
  const node: LinguaNode = new LinguaNode({
    services: ['asr', 'nmt', 'tts'],
    asrLangs: ['zh', 'en'],
    ttsLangs: ['zh', 'en', 'ja'],
    maxConcurrentJobs: 4,
    version: '0.1.0-sim',
    platform: `${process.platform}-${process.arch}`,
    ...(load ? { resource: () => load.get() } : {}),
    ...nodeOpts,
    ...(warmupMs !== undefined ? { ready: false } : {}),
    ...(models ? { models: (): string[] => models.loaded(node.ack?.pools ?? []) } : {}),
    handler: createSimHandler({ latencyMs, failureRate, silent, seed, partials, echoContext }, models),
  });
  if (warmupMs !== undefined) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    node.once('registered', () => {
      timer = setTimeout(() => {
        if (node.readiness === 'warmup') node.markReady();
      }, warmupMs);
      (timer as { unref?: () => void }).unref?.();
    });
    node.on('closed', () => clearTimeout(timer));
  }
  return node;
}

function latencyRange(latency: SimBehavior['latencyMs']): [number, number] {
  if (latency === undefined) return [0, 0];
  const [lo, hi] = typeof latency === 'number' ? [latency, latency] : latency;
  if (!(lo >= 0) || !(hi >= lo))
    throw new RangeError(`latencyMs must be >= 0 and min <= max, got ${latency}`);
  return [lo, hi];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
