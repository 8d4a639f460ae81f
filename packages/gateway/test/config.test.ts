import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';

const base = { LINGUA_INSECURE: 'true' };

describe('config: decimal settings (LINGUA_NODE_HOT_THRESHOLD, v1.9)', () => {
  it('defaults to 0.75, takes a fraction, and refuses what is not one', () => {
    expect(loadConfig(base).nodeHotThreshold).toBe(0.75);
    expect(loadConfig({ ...base, LINGUA_NODE_HOT_THRESHOLD: '0.6' }).nodeHotThreshold).toBe(0.6);
    expect(loadConfig({ ...base, LINGUA_NODE_HOT_THRESHOLD: '1' }).nodeHotThreshold).toBe(1);
    for (const bad of ['abc', '1.5', '-0.1', 'Infinity']) {
      expect(() => loadConfig({ ...base, LINGUA_NODE_HOT_THRESHOLD: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, LINGUA_NODE_HOT_THRESHOLD: bad })).toThrow(
        /LINGUA_NODE_HOT_THRESHOLD/,
      );
    }
  });
});
