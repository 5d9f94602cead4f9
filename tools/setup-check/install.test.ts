// A fresh `pnpm install` says nothing to decide: every workspace command (`bin`) is a committed file, so pnpm links
// it before anything is built ("Failed to create bin" otherwise), and every dependency with an install script is
// listed as allowed or ignored in pnpm-workspace.yaml ("Ignored build scripts" otherwise).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const tracked = new Set(execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0'));

interface PackageJson {
  readonly name?: string;
  readonly bin?: string | Record<string, string>;
  readonly scripts?: Record<string, string>;
}
const readJson = (path: string): PackageJson => JSON.parse(readFileSync(path, 'utf8')) as PackageJson;

const workspaceDirs = (): string[] => {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const globs = [...yaml.split(/^\S.*:\s*$/m)[1]!.matchAll(/^\s+-\s+(\S+)\s*$/gm)].map((m) => m[1]!);
  return globs.flatMap((g) =>
    g.endsWith('/*') ? (existsSync(join(root, g.slice(0, -2))) ? readdirSync(join(root, g.slice(0, -2))).map((d) => `${g.slice(0, -2)}/${d}`) : []) : [g],
  ).filter((d) => existsSync(join(root, d, 'package.json')));
};

/** The names listed under `key:` in pnpm-workspace.yaml. */
const listed = (key: string): string[] => {
  const lines = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8').split('\n');
  const names: string[] = [];
  for (let i = lines.findIndex((l) => l.startsWith(`${key}:`)) + 1; i > 0 && i < lines.length && /^\s+-\s+\S/.test(lines[i]!); i++) names.push(lines[i]!.replace(/^\s+-\s+/, '').trim());
  return names;
};

describe('a fresh pnpm install has nothing to warn about', () => {
  it("every workspace package's commands are committed files (pnpm links them before the build)", () => {
    const bins = workspaceDirs().flatMap((dir) => {
      const { bin, name } = readJson(join(root, dir, 'package.json'));
      const entries = bin === undefined ? [] : typeof bin === 'string' ? [[name ?? dir, bin] as const] : Object.entries(bin);
      return entries.map(([command, file]) => ({ command, path: normalize(join(dir, file)).replace(/\\/g, '/') }));
    });
    expect(bins.map((b) => b.command)).toEqual(expect.arrayContaining(['densepure', 'densepure-eval']));
    expect(bins.filter((b) => !tracked.has(b.path)).map((b) => `${b.command}: ${b.path} is not a committed file`)).toEqual([]);
  });

  it('every installed dependency with an install script is allowed or ignored by name in pnpm-workspace.yaml', () => {
    const store = join(root, 'node_modules', '.pnpm');
    expect(existsSync(store), 'run pnpm install first').toBe(true);
    const decided = new Set([...listed('onlyBuiltDependencies'), ...listed('ignoredBuiltDependencies')]);
    const withScripts = new Set<string>();
    for (const entry of readdirSync(store)) {
      const modules = join(store, entry, 'node_modules');
      if (!existsSync(modules)) continue;
      for (const name of readdirSync(modules).flatMap((n) => (n.startsWith('@') ? readdirSync(join(modules, n)).map((m) => `${n}/${m}`) : [n]))) {
        const dir = join(modules, name);
        if (!existsSync(join(dir, 'package.json'))) continue;
        const { scripts = {} } = readJson(join(dir, 'package.json'));
        if (['preinstall', 'install', 'postinstall'].some((s) => s in scripts) || existsSync(join(dir, 'binding.gyp'))) withScripts.add(name);
      }
    }
    expect(withScripts.size).toBeGreaterThan(0);
    expect([...withScripts].filter((n) => !decided.has(n)).sort()).toEqual([]);
  });
});
