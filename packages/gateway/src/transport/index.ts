/**
 * Picks the HTTP/WebSocket implementation at start (`LINGUA_TRANSPORT`): `uws` needs a native
 * uWebSockets.js binary that loads here (else start fails), `node` always works, `auto` takes
 * native uWS when it loads and `node` otherwise.
 */
import { NodeTransport, type NodeTransportOptions } from './node';
import type { HttpTransport, TransportOptions } from './types';
import { UwsTransport } from './uws';
import { probeNativeUws } from './uws-native';

export type TransportChoice = 'auto' | 'uws' | 'node';
export const TRANSPORT_CHOICES: readonly TransportChoice[] = ['auto', 'uws', 'node'];

export interface ChosenTransport {
  transport: HttpTransport;
  /** one line for the start-up log: what serves and why */
  detail: string;
}

export function createTransport(
  choice: TransportChoice,
  opts: TransportOptions & Pick<NodeTransportOptions, 'poisonMessages'>,
): ChosenTransport {
  if (choice !== 'node') {
    const probe = probeNativeUws();
    if (probe.uws) {
      return { transport: new UwsTransport(probe.uws, opts), detail: `native ${probe.source}` };
    }
    if (choice === 'uws') {
      throw new Error(
        `LINGUA_TRANSPORT=uws but no native uWebSockets.js binary loads on Node ${process.version}: ${probe.reasons.join('; ')}`,
      );
    }
    return {
      transport: new NodeTransport(opts),
      detail: `ws + node:http (no native uWS: ${probe.reasons.join('; ')})`,
    };
  }
  return { transport: new NodeTransport(opts), detail: 'ws + node:http (LINGUA_TRANSPORT=node)' };
}

export * from './types';
export { probeNativeUws } from './uws-native';
