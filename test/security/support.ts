/** Helpers for the security suites: raw HTTP bytes, upgrade outcomes, an honest session. */
import { connect } from 'node:net';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { probeNativeUws } from '../../packages/gateway/src/transport';
import { RawPeer, simOutput } from '../support/peers';

/** The transports this machine can run: node always, native uWS where a binary loads. */
export const TRANSPORTS: ('node' | 'uws')[] = probeNativeUws().uws ? ['node', 'uws'] : ['node'];

/** Sends raw bytes on a fresh TCP connection; resolves with the first response line ('' if none). */
export function rawHttp(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(t);
      sock.destroy();
      resolve(got.split('\r\n')[0] ?? '');
    };
    const t = setTimeout(done, timeoutMs);
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done();
    });
    sock.on('error', done);
    sock.on('close', done);
    sock.write(bytes);
  });
}

/** Opens a WebSocket; resolves with 'open' (and the socket) or the HTTP status of a refused upgrade. */
export function tryUpgrade(url: string): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => resolve({ status: 0 }));
  });
}

/** A session that must keep getting correct results while others attack the gateway. */
export async function honestSession(url: string): Promise<RawPeer> {
  const s = await RawPeer.connect(url);
  s.send({ type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 16000 });
  await s.next('session_init_ack');
  return s;
}

/** Sends `n` more utterances on `s` and checks each result is the deterministic correct one. */
export async function expectCorrectResults(s: RawPeer, n: number): Promise<void> {
  const before = s.ofType('translation_result').length;
  const sent: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const audio = Buffer.alloc(640, (before + i + 1) % 251);
    sent.push(audio);
    s.send({ type: 'utterance', data: audio.toString('base64') });
  }
  const results = (await s.next('translation_result', before + n)).slice(before);
  for (let i = 0; i < n; i++) expect(results[i]).toMatchObject(simOutput(sent[i]!, 'zh', 'en'));
}
