// Fallback of tether.ts where PR_SET_PDEATHSIG is not available: runs `argv[3..]` as a child,
// forwards termination signals to it, and sends it argv[2] once our parent is gone (the
// parent pid changed: we were re-parented). Exits with the child's status.
import { spawn } from 'node:child_process';

const [signal, command, ...args] = process.argv.slice(2);
const parent = process.ppid;
const child = spawn(command, args, { stdio: 'inherit' });
child.on('error', (err) => {
  process.stderr.write(`tether: cannot start ${command}: ${err.message}\n`);
  process.exit(127);
});
child.on('exit', (code, sig) => process.exit(code ?? (sig ? 128 : 1)));
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']) {
  process.on(s, () => child.kill(s));
}
setInterval(() => {
  if (process.ppid !== parent) child.kill(signal);
}, 250).unref();
