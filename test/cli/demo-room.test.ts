/** `lingua demo --room`: the meeting a newcomer sees on the dashboard really is one. */
import { describe, expect, it } from 'vitest';
import { RoomDemo } from '../../packages/cli/src/demo-room';
import { adminHeaders, sessionToken } from '../support/auth';
import { useGateways } from '../support/gateways';
import { rawNode, until } from '../support/peers';

const g = useGateways(2);

describe('lingua demo --room', () => {
  it('4 members in 3 languages over 2 gateways: each hears the others in its own language; the room is listed, and gone after', async () => {
    const langs = ['zh', 'en', 'ja'];
    const nodeUrls = g.cluster.urls('node');
    g.open.push(await rawNode(nodeUrls[0]!, 'demo-room-node-1', { asr: langs, tts: langs, max: 16 }));
    const heard = new Map<string, Set<string>>();
    const demo = new RoomDemo({
      urls: g.cluster.urls('session'),
      roomId: 'demo-meeting',
      members: 4,
      intervalMs: 50,
      token: await sessionToken(),
      onHeard: (listener, r) => {
        expect(r.tgt_lang).toBe(listener.lang);
        expect(r.speaker.display_name).not.toBe(listener.name);
        const s = heard.get(listener.name) ?? new Set();
        heard.set(listener.name, s.add(r.speaker.display_name));
      },
    });
    g.open.push({ close: () => demo.stop() });
    await demo.start();
    expect(demo.members.map((m) => `${m.name}:${m.lang}`)).toEqual(['Ana:zh', 'Ben:en', 'Chie:ja', 'Dan:en']);
    await until(
      () => demo.members.every((m) => heard.get(m.name)?.size === 3),
      'every member heard the three others',
      180_000, // a hang bound: a loaded 2-core machine can take a minute here
    );
    const base = `http://127.0.0.1:${g.cluster.gateways[1]!.port}`;
    const rooms = async () =>
      (
        (await (await fetch(`${base}/api/v1/rooms`, { headers: adminHeaders() })).json()) as {
          rooms: { room_id: string; members: unknown[]; languages: string[] }[];
        }
      ).rooms;
    const room = (await rooms()).find((r) => r.room_id === 'demo-meeting');
    expect(room?.members).toHaveLength(4);
    expect(room?.languages).toEqual(['en', 'ja', 'zh']);
    expect(demo.stats.missing).toBe(0);
    await demo.stop();
    // Closing the sessions left the room; the last leave deleted it.
    await until(
      async () => !(await rooms()).some((r) => r.room_id === 'demo-meeting'),
      'the room gone',
      180_000,
    );
  }, 420_000);
});
