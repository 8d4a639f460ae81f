/**
 * Child process holding idle Lingua sessions for the memory benchmark: command `open` opens
 * `count` session WebSockets round-robin over the gateway ports, sends session_init and
 * waits for the ack; the sockets then stay open and silent until the process exits. Runs in
 * its own process so the bench's own file-descriptor limit is not the cap.
 */
import WebSocket from 'ws';
import { serveParent } from './ipc';

const sockets: WebSocket[] = [];
let closedByServer = 0;

function openSession(url: string, src: string, tgt: string, timeoutMs: number): Promise<void> {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      rej(new Error('session_init timed out'));
    }, timeoutMs);
    ws.once('error', (err) => {
      clearTimeout(timer);
      rej(err);
    });
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          type: 'session_init',
          src_lang: src,
          tgt_lang: tgt,
          audio_format: 'pcm16',
          sample_rate: 16000,
        }),
      ),
    );
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      if (f.type === 'session_init_ack') {
        clearTimeout(timer);
        sockets.push(ws);
        ws.once('close', () => closedByServer++);
        res();
      } else if (f.type === 'error') {
        clearTimeout(timer);
        ws.terminate();
        rej(new Error(`${f.code}: ${f.message}`));
      }
    });
  });
}

serveParent({
  async open(a) {
    const ports = a.ports as number[];
    const count = Number(a.count);
    const offset = Number(a.offset ?? 0);
    const inflight = Number(a.inflight ?? 64);
    let next = 0;
    let opened = 0;
    const errors: Record<string, number> = {};
    await Promise.all(
      Array.from({ length: Math.min(inflight, count) }, async () => {
        while (next < count) {
          const i = offset + next++;
          const url = `ws://127.0.0.1:${ports[i % ports.length]}/ws/session`;
          try {
            await openSession(url, String(a.src), String(a.tgt), 15_000);
            opened++;
          } catch (err) {
            const k = String((err as Error).message ?? err).slice(0, 80);
            errors[k] = (errors[k] ?? 0) + 1;
          }
        }
      }),
    );
    return { opened, errors, open: sockets.length - closedByServer };
  },
}).ready();
