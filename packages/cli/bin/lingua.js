#!/usr/bin/env node
// `lingua` in a checkout (`npx lingua up`): runs the TypeScript source through tsx, a dev
// dependency, so it never runs a stale build. A production install runs the bundle instead:
// `node dist/lingua.js` (`npm run build`); the container image has it on PATH as `lingua`.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
