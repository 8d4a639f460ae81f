/**
 * `lingua token`: mints credentials for a cluster whose secrets this shell can read
 * (LINGUA_SESSION_JWT_SECRET / LINGUA_NODE_JWT_SECRET, else the running `lingua up`'s
 * .lingua/credentials.json). The token goes to stdout alone, so `$(lingua token …)` works.
 *
 *   lingua token session --tenant acme [--langs zh:en,en:ja] [--max-sessions 20] [--ttl 1h]
 *   lingua token node --node-id gpu-1            (or a prefix: --node-id 'gpu-*')
 *   lingua token admin                            (prints the admin token)
 */
import { type Command, InvalidArgumentError } from 'commander';
import { mintingSecrets, nodeTokenFrom, parseTtl, sessionTokenFrom } from './credentials';

function need(value: string | undefined, what: string): string {
  if (value) return value;
  throw new Error(
    `no ${what}: set it in the environment, or run this next to a running \`lingua up\` (which keeps generated secrets in .lingua/credentials.json)`,
  );
}

function ttl(v: string): number {
  try {
    return parseTtl(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function registerTokenCommand(program: Command): void {
  const token = program
    .command('token')
    .description('mint a session or node token (JWT) for a cluster, or print the admin token');

  token
    .command('session')
    .description('a session token: clients present it as Authorization: Bearer or ?token=')
    .requiredOption('--tenant <tenant>', 'the tenant every session opened with it belongs to')
    .option('--langs <pairs>', 'allowed language pairs src:tgt,... (* = any language on that side)')
    .option('--max-sessions <n>', 'concurrent sessions of the tenant (claim max_sessions)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
      return n;
    })
    .option('--ttl <ttl>', 'lifetime: 90s, 15m, 1h, 7d', ttl, 3600)
    .action(async (o) => {
      const secret = need(mintingSecrets().sessionSecret, 'LINGUA_SESSION_JWT_SECRET');
      const langs = o.langs
        ? String(o.langs)
            .split(',')
            .map((p: string) => p.trim())
            .filter(Boolean)
        : undefined;
      const jwt = await sessionTokenFrom(
        secret,
        { tenant: o.tenant, langs, maxSessions: o.maxSessions },
        o.ttl,
      );
      process.stdout.write(`${jwt}\n`);
    });

  token
    .command('node')
    .description('a node token: nodes present it in node_register.token (the node SDK option `token`)')
    .requiredOption('--node-id <id>', "the node id it may register, or a prefix ending in '*'")
    .option('--ttl <ttl>', 'lifetime: 90s, 15m, 1h, 7d', ttl, 86_400)
    .action(async (o) => {
      const secret = need(mintingSecrets().nodeSecret, 'LINGUA_NODE_JWT_SECRET');
      process.stdout.write(`${await nodeTokenFrom(secret, o.nodeId, o.ttl)}\n`);
    });

  token
    .command('admin')
    .description('print the admin token (dashboard login, Authorization: Bearer for /api and /metrics)')
    .action(() => {
      process.stdout.write(`${need(mintingSecrets().adminToken, 'LINGUA_ADMIN_TOKEN')}\n`);
    });
}
