/**
 * The repository stands alone: a clone without the founding documents beside it sets up and
 * passes, and its docs link only to files inside it. (.ci/run may use the environment's tools.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tracked = execFileSync('git', ['ls-files'], { cwd: repo, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !f.startsWith('.ci/') && /\.(ts|js|md|json|ya?ml|sh|html|lua|conf)$/.test(f))
  .filter((f) => f !== 'package-lock.json');
/** The founding documents' folder beside the checkout, spelled so this file does not name it. */
const OUTSIDE = ['..', 'shared'].join('/');

describe('the repository stands alone', () => {
  it('no tracked file refers to the folder beside the checkout', () => {
    const offenders = tracked.filter((f) => readFileSync(resolve(repo, f), 'utf8').includes(OUTSIDE));
    expect(offenders).toEqual([]);
  });

  it('every relative link in the docs points at a file in the repository', () => {
    const broken: string[] = [];
    for (const f of tracked.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(resolve(repo, f), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
        if (!existsSync(resolve(repo, dirname(f), target))) broken.push(`${f} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
