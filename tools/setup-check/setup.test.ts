// The README's two commands must work with any pnpm 10.x. An exact `packageManager` pin makes pnpm 10 switch to
// that version, and pnpm 10.34.9 refuses the switch ("Refusing to run pnpm@10.34.8: its npm registry signature could
// not be verified"). The repository's .npmrc turns the switch off; this runs a pnpm 10 other than the pin in the
// repository root, as a new user's would.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const cache = mkdtempSync(join(tmpdir(), 'densepure-npm-cache-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const pinned = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { packageManager: string }).packageManager.split('@')[1];

describe('any pnpm 10.x runs in the repository root', () => {
  // 10.34.9 is the release that refused the pin; the pin itself must be some other 10.x for this to test anything.
  const other = '10.34.9';
  it(`pnpm ${other} (pin: ${pinned}) runs without switching versions`, () => {
    expect(pinned).not.toBe(other);
    const r = spawnSync('npm', ['exec', '--yes', '--cache', cache, `--package=pnpm@${other}`, '--', 'pnpm', 'list', '--depth', '-1', '--json'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, npm_config_update_notifier: 'false', COREPACK_ENABLE_STRICT: '0' },
    });
    expect(r.stderr).not.toMatch(/Refusing to run/);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('densepure-monorepo');
  });
});
