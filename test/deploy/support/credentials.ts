/**
 * The deployment's credentials, as an operator sets them up (docs/deploy.md#credentials): fresh
 * JWT secrets and admin token for every test run (test/support/auth.ts generates them per
 * process), the simulated nodes' node token and the sessions' session token minted with the
 * gateway's own code (packages/gateway/src/auth.ts). They reach compose only through an env file
 * (ComposeProject writes it 0600 and deletes it), never through a command line.
 */
import { nodeToken, sessionToken, TEST_CREDENTIALS } from '../../support/auth';
import { RawPeer, until } from '../../support/peers';

export interface DeployCredentials {
  /** for compose's env file: the gateways' secrets and the simulated nodes' token */
  secrets: Record<string, string>;
  /** a session token for the drill's sessions */
  sessionToken: string;
  adminToken: string;
}

/** Node ids the simulated nodes register with: one token (a `prefix*` claim) serves both. */
export const SIM_NODE_IDS = 'sim-*';

export async function deployCredentials(): Promise<DeployCredentials> {
  return {
    secrets: {
      LINGUA_SESSION_JWT_SECRET: TEST_CREDENTIALS.sessionJwtSecret,
      LINGUA_NODE_JWT_SECRET: TEST_CREDENTIALS.nodeJwtSecret,
      LINGUA_ADMIN_TOKEN: TEST_CREDENTIALS.adminToken,
      LINGUA_NODE_TOKEN: await nodeToken(SIM_NODE_IDS),
      LINGUA_INSECURE: 'false',
    },
    sessionToken: await sessionToken(),
    adminToken: TEST_CREDENTIALS.adminToken,
  };
}

/** The socket was refused: an UNAUTHORIZED error frame, then close 1008. */
async function refusal(url: string, token: string | null): Promise<{ message: string; code: number }> {
  const peer = await RawPeer.connect(url, { token });
  try {
    const [err] = await peer.next('error');
    if (err?.code !== 'UNAUTHORIZED')
      throw new Error(`${url}: expected UNAUTHORIZED, got ${JSON.stringify(err)}`);
    const closed = await until(() => peer.closed, `${url}: close after UNAUTHORIZED`, 30_000);
    return { message: String(err.message), code: closed.code };
  } finally {
    if (peer.ws.readyState === peer.ws.OPEN) peer.close();
  }
}

/**
 * What the load balancer lets through without the right credential: a session without a token,
 * a session token on /ws/node, the admin API without (or with a wrong) admin token.
 */
export async function checkRefusals(httpBase: string, creds: DeployCredentials) {
  const ws = httpBase.replace(/^http/, 'ws');
  const api = `${httpBase}/api/v1/cluster`;
  const status = async (headers: Record<string, string>) =>
    (await fetch(api, { headers, signal: AbortSignal.timeout(10_000) })).status;
  return {
    sessionWithoutToken: await refusal(`${ws}/ws/session`, null),
    sessionTokenOnNode: await refusal(`${ws}/ws/node`, creds.sessionToken),
    adminWithoutToken: await status({}),
    adminWrongToken: await status({ authorization: `Bearer ${'x'.repeat(creds.adminToken.length)}` }),
    adminWithToken: await status({ authorization: `Bearer ${creds.adminToken}` }),
  };
}
