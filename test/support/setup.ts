import { afterEach, expect } from 'vitest';
import { contractViolations } from './peers';

// Whatever a test did, every frame the gateway sent must have matched docs/protocol.md.
afterEach(() => {
  const seen = contractViolations.splice(0);
  expect(seen, 'frames sent by the gateway that violate the protocol').toEqual([]);
});
