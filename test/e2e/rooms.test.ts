import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 3, { cells: 2, shards: 4 });
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

interface Member {
  name: string;
  peer: RawPeer;
  sid: string;
  src: string;
  tgt: string;
  listens: string;
  audios: Buffer[];
}

const LANGS = ['zh', 'en', 'fr'];

async function member(url: string, name: string, src: string, tgt: string, listens: string): Promise<Member> {
  const peer = await RawPeer.connect(url);
  peer.send({
    type: 'session_init',
    src_lang: src,
    tgt_lang: tgt,
    audio_format: 'pcm16',
    sample_rate: 16000,
  });
  const [ack] = await peer.next('session_init_ack');
  return { name, peer, sid: ack!.session_id as string, src, tgt, listens, audios: [] };
}

describe('meeting rooms over 3 gateways', () => {
  it('4 members, 3 instances, 3 languages: every member gets every other member’s every utterance once, in order, in its language', async () => {
    const nodeUrls = cluster.urls('node');
    const urls = cluster.urls('session');
    const nodes = await Promise.all(
      [0, 1].map((i) => rawNode(nodeUrls[i]!, `room-node-${i}`, { asr: LANGS, tts: LANGS, max: 16 })),
    );
    const members = [
      await member(urls[0]!, 'Ana', 'zh', 'en', 'en'),
      await member(urls[1]!, 'Bo', 'en', 'zh', 'zh'),
      await member(urls[2]!, 'Chloé', 'fr', 'en', 'fr'),
      await member(urls[0]!, 'Dan', 'en', 'fr', 'en'), // hears Bo (en) as a transcript
    ];
    for (const [i, m] of members.entries()) {
      m.peer.send({ type: 'room_join', room_id: 'standup', display_name: m.name, listen_lang: m.listens });
      const [joined] = await m.peer.next('room_joined');
      expect(joined).toMatchObject({ room_id: 'standup' });
      expect((joined!.members as unknown[]).length).toBe(i + 1);
    }
    // Everyone already in heard of everyone who came later.
    for (const [i, m] of members.entries()) {
      const joined = await m.peer.next('room_member_joined', members.length - 1 - i);
      expect(joined.map((f) => (f.member as { display_name: string }).display_name)).toEqual(
        members.slice(i + 1).map((o) => o.name),
      );
    }

    const perSpeaker = 3;
    for (let u = 0; u < perSpeaker; u++) {
      for (const m of members) {
        const audio = Buffer.from(`${m.name} says #${u} `.repeat(16));
        m.audios.push(audio);
        m.peer.send({ type: 'utterance', seq: u, data: audio.toString('base64') });
      }
    }
    const expected = perSpeaker * (members.length - 1);
    for (const m of members) {
      const got = await m.peer.next('room_result', expected);
      expect(got).toHaveLength(expected);
      // Its own results as a session are unchanged.
      const own = await m.peer.next('translation_result', perSpeaker);
      expect(own.map((r) => r.utterance_index)).toEqual([0, 1, 2]);
      for (const s of members) {
        if (s === m) continue;
        const fromS = got.filter((r) => (r.speaker as { session_id: string }).session_id === s.sid);
        expect(fromS.map((r) => r.utterance_index)).toEqual([0, 1, 2]);
        for (const r of fromS) {
          const audio = s.audios[r.utterance_index as number]!;
          const out = simOutput(audio, s.src, m.listens);
          expect(r).toMatchObject({
            room_id: 'standup',
            speaker: { session_id: s.sid, display_name: s.name },
            src_lang: s.src,
            tgt_lang: m.listens,
            text_asr: out.text_asr,
            // same language: the transcript
            text_translated: m.listens === s.src ? out.text_asr : out.text_translated,
          });
        }
      }
      expect(got.some((r) => (r.speaker as { session_id: string }).session_id === m.sid)).toBe(false);
      expect(m.peer.ofType('room_missing_result')).toHaveLength(0);
    }
    // One fan-out job per utterance and listener language other than the speaker's own src/tgt:
    // Ana zh→en: fr (Chloé) · Bo en→zh: fr · Chloé fr→en: zh (Bo) · Dan en→fr: zh (Bo).
    const assigns = nodes.flatMap((n) => n.assigns);
    expect(assigns).toHaveLength(members.length * perSpeaker + 4 * perSpeaker);
    const lanes = assigns.filter((a) => String(a.session_id).includes(':'));
    expect(lanes.map((a) => `${a.src_lang}:${a.tgt_lang}`).sort()).toEqual(
      ['zh:fr', 'en:fr', 'fr:zh', 'en:zh'].flatMap((p) => Array(perSpeaker).fill(p)).sort(),
    );
    // Nothing pending anywhere, and no duplicate arrives late.
    const { redis: r, ks } = cluster.gateways[0]!.ctx;
    await until(async () => {
      for (const g of cluster.gateways) {
        const pending = (await r.xpending(ks.inbox(g.cfg.instanceId), 'lingua')) as [number, ...unknown[]];
        if (pending[0] !== 0) return false;
      }
      return true;
    }, 'all inboxes drained');
    for (const m of members) expect(m.peer.ofType('room_result')).toHaveLength(expected);

    // Operations: the room in the API (any instance answers the same) and in the metrics.
    const base = `http://127.0.0.1:${cluster.gateways[2]!.port}`;
    const api = (await (await fetch(`${base}/api/v1/rooms`, { headers: adminHeaders() })).json()) as {
      rooms: { room_id: string; members: { display_name: string }[]; languages: string[] }[];
    };
    const standup = api.rooms.find((x) => x.room_id === 'standup')!;
    expect(standup.members.map((x) => x.display_name).sort()).toEqual(members.map((x) => x.name).sort());
    expect(standup.languages).toEqual(['en', 'fr', 'zh']);
    expect((await fetch(`${base}/api/v1/rooms`)).status).toBe(401);
    const speakerHome = `http://127.0.0.1:${cluster.gateways[0]!.port}`;
    const text = await (await fetch(`${speakerHome}/metrics`, { headers: adminHeaders() })).text();
    expect(text).toMatch(/^lingua_rooms(\{[^}]*\})? [1-9]/m);
    expect(text).toMatch(/^lingua_room_fanout_jobs_total(\{[^}]*\})? [1-9]/m);
    expect(text).toMatch(/^lingua_room_result_seconds_count(\{[^}]*\})? [1-9]/m);

    // Leaving: the others are told, and the leaver hears nothing more.
    const dan = members[3]!;
    dan.peer.send({ type: 'room_leave' });
    await dan.peer.next('room_left');
    for (const m of members.slice(0, 3)) {
      const [left] = await m.peer.next('room_member_left');
      expect(left).toMatchObject({ room_id: 'standup', session_id: dan.sid });
    }
    const ana = members[0]!;
    ana.audios.push(Buffer.from('Ana after Dan left '.repeat(16)));
    ana.peer.send({ type: 'utterance', seq: perSpeaker, data: ana.audios[perSpeaker]!.toString('base64') });
    for (const m of members.slice(1, 3)) await m.peer.next('room_result', expected + 1);
    await ana.peer.next('translation_result', perSpeaker + 1);
    expect(dan.peer.ofType('room_result')).toHaveLength(expected);

    for (const n of nodes) n.close();
    for (const m of members) m.peer.close();
  });

  it('a translation that fails for one language is room_missing_result for its listeners only', async () => {
    const nodeUrls = cluster.urls('node');
    const urls = cluster.urls('session');
    const nodes = [
      await rawNode(nodeUrls[0]!, 'good-1', { asr: ['zh', 'en'], tts: ['zh', 'en'] }),
      // every zh→fr attempt fails, on as many nodes as there are attempts
      ...(await Promise.all(
        [0, 1, 2].map((i) => rawNode(nodeUrls[i]!, `bad-fr-${i}`, { asr: ['zh'], tts: ['fr'], fail: true })),
      )),
    ];
    const speaker = await member(urls[0]!, 'Ana', 'zh', 'en', 'en');
    const fr = await member(urls[1]!, 'Bo', 'en', 'zh', 'fr');
    const en = await member(urls[2]!, 'Chloé', 'en', 'zh', 'en');
    for (const m of [speaker, fr, en]) {
      m.peer.send({ type: 'room_join', room_id: 'failing', display_name: m.name, listen_lang: m.listens });
      await m.peer.next('room_joined');
    }
    for (let u = 0; u < 2; u++) {
      speaker.audios.push(Buffer.from(`Ana #${u} `.repeat(16)));
      speaker.peer.send({ type: 'utterance', seq: u, data: speaker.audios[u]!.toString('base64') });
    }
    const missing = await fr.peer.next('room_missing_result', 2);
    expect(missing.map((f) => [f.utterance_index, f.reason])).toEqual([
      [0, 'failed'],
      [1, 'failed'],
    ]);
    expect(missing[0]).toMatchObject({
      room_id: 'failing',
      speaker: { session_id: speaker.sid, display_name: 'Ana' },
    });
    const ok = await en.peer.next('room_result', 2);
    expect(ok.map((f) => f.utterance_index)).toEqual([0, 1]);
    await speaker.peer.next('translation_result', 2);
    expect(fr.peer.ofType('room_result')).toHaveLength(0);
    expect(en.peer.ofType('room_missing_result')).toHaveLength(0);
    for (const n of nodes) n.close();
    for (const m of [speaker, fr, en]) m.peer.close();
  });

  it('a member resumes on another instance mid-meeting and misses nothing, as listener and as speaker', async () => {
    const nodeUrls = cluster.urls('node');
    const urls = cluster.urls('session');
    const nodes = await Promise.all(
      [0, 2].map((i) => rawNode(nodeUrls[i]!, `resume-node-${i}`, { asr: LANGS, tts: LANGS, max: 16 })),
    );
    const ana = await member(urls[0]!, 'Ana', 'zh', 'en', 'en');
    const bo = await member(urls[1]!, 'Bo', 'en', 'zh', 'fr'); // a lane listener: zh→fr, fr
    const chloe = await member(urls[2]!, 'Chloé', 'fr', 'en', 'en');
    const all = [ana, bo, chloe];
    for (const m of all) {
      m.peer.send({ type: 'room_join', room_id: 'resume', display_name: m.name, listen_lang: m.listens });
      await m.peer.next('room_joined');
    }
    const say = (m: Member, n: number) => {
      for (let k = 0; k < n; k++) {
        const u = m.audios.length;
        m.audios.push(Buffer.from(`${m.name} resume #${u} `.repeat(16)));
        m.peer.send({ type: 'utterance', seq: u, data: m.audios[u]!.toString('base64') });
      }
    };
    say(ana, 2);
    say(bo, 2);
    say(chloe, 2);
    await bo.peer.next('room_result', 4);
    const heard = (frames: Record<string, unknown>[]) => {
      const out = new Map<string, number>();
      for (const f of frames)
        out.set((f.speaker as { session_id: string }).session_id, f.utterance_index as number);
      return [...out].map(([session_id, utterance_index]) => ({ session_id, utterance_index }));
    };
    const [ack0] = bo.peer.ofType('session_init_ack');
    const before = bo.peer.ofType('room_result');
    const roomHeard = heard(before);
    bo.peer.ws.terminate();
    // The meeting goes on while Bo is away.
    say(ana, 2);
    say(chloe, 2);
    await ana.peer.next('translation_result', 4);
    await chloe.peer.next('translation_result', 4);
    const lastResult = Math.max(
      -1,
      ...bo.peer.ofType('translation_result').map((f) => f.utterance_index as number),
    );
    const bo2 = await RawPeer.connect(urls[2]!);
    bo2.send({
      type: 'session_init',
      src_lang: 'en',
      tgt_lang: 'zh',
      audio_format: 'pcm16',
      sample_rate: 16000,
      resume: {
        session_id: bo.sid,
        resume_token: ack0!.resume_token,
        last_result_index: lastResult,
        next_utterance_index: 2,
        last_accepted_seq: 1,
        room_heard: roomHeard,
      },
    });
    await bo2.next('session_init_ack');
    const [rejoined] = await bo2.next('room_joined');
    expect((rejoined!.members as unknown[]).length).toBe(3);
    bo.peer = bo2;
    // And after the resume, everyone speaks again, Bo included (its fan-out works on gw-3).
    say(ana, 2);
    say(chloe, 2);
    say(bo, 2);
    const after = await bo2.next('room_result', 8);
    const got = [...before, ...after];
    for (const s of [ana, chloe]) {
      const fromS = got.filter((r) => (r.speaker as { session_id: string }).session_id === s.sid);
      expect(fromS.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3, 4, 5]);
      for (const r of fromS) {
        const out = simOutput(s.audios[r.utterance_index as number]!, s.src, 'fr');
        expect(r).toMatchObject({
          tgt_lang: 'fr',
          text_translated: s.src === 'fr' ? out.text_asr : out.text_translated,
        });
      }
    }
    for (const m of [ana, chloe]) {
      const fromBo = await until(() => {
        const f = m.peer
          .ofType('room_result')
          .filter((r) => (r.speaker as { session_id: string }).session_id === bo.sid);
        return f.length >= 4 ? f : null;
      }, `${m.name} hears Bo 4 times`);
      expect(fromBo.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3]);
    }
    // Nothing more arrives late (no duplicates).
    const { redis: r, ks } = cluster.gateways[0]!.ctx;
    await until(async () => {
      for (const g of cluster.gateways) {
        const pending = (await r.xpending(ks.inbox(g.cfg.instanceId), 'lingua')) as [number, ...unknown[]];
        if (pending[0] !== 0) return false;
      }
      return true;
    }, 'all inboxes drained');
    expect(bo2.ofType('room_result')).toHaveLength(8);
    expect(bo2.ofType('room_missing_result')).toHaveLength(0);
    for (const n of nodes) n.close();
    for (const m of all) m.peer.close();
  });
});
