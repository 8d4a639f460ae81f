/**
 * Which HTTP/WebSocket implementation bench gateways run on: `--transport uws|node|auto` on the
 * command line (`npm run bench:e2e -- --transport node`) or `LINGUA_TRANSPORT` in the
 * environment; gateway processes inherit it. `transportOf` asks a running gateway what it
 * actually uses (its `lingua_transport_info` metric), for the report.
 */

export function selectTransport(argv = process.argv): string {
  const i = argv.indexOf('--transport');
  const fromArg = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--transport='))?.split('=')[1];
  const choice = fromArg ?? process.env.LINGUA_TRANSPORT ?? 'auto';
  if (!['auto', 'uws', 'node'].includes(choice)) {
    throw new Error(`--transport must be auto, uws or node (got "${choice}")`);
  }
  process.env.LINGUA_TRANSPORT = choice;
  return choice;
}

export async function transportOf(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const impl = /lingua_transport_info\{impl="(\w+)"/.exec(text)?.[1] ?? 'unknown';
  return impl === 'uws' ? 'uws (native uWebSockets.js)' : impl === 'node' ? 'node (ws + node:http)' : impl;
}
