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
/**
 * Whether several gateway processes can listen on one port (SO_REUSEPORT, Linux): native uWS
 * always does; the node transport needs Node >= 22.12 (`reusePort` of `net.Server.listen`).
 */
export function canSharePort(choice: TransportChoice): boolean {
  if (process.platform !== 'linux') return false;
  if (choice !== 'node' && probeNativeUws().uws) return true;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

export { probeNativeUws } from './uws-native';
