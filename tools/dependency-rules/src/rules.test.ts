// The dependency rule on the real workspace, and (power check) on a small synthetic workspace that breaks each
// rule once in each way a file can name a module, next to the exemptions that must stay quiet.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDependencyRules, describeViolation, moduleSpecifiers, violationKey } from './rules.js';

const root = resolve(import.meta.dirname, '../../..');

describe('the workspace keeps the dependency rule', () => {
  const result = checkDependencyRules(root);

  it('no library imports an app, a concrete backend or a zoo; core imports none of ours; no app imports another', () => {
    expect(result.violations.map(describeViolation)).toEqual([]);
  });

  it('every package has a place in the rule, and no library loads a computed module name', () => {
    expect(result.unclassified).toEqual([]);
    expect(result.computed.map(violationKey)).toEqual([]);
  });
});

/** Writes `files` (path -> text; objects as JSON) under a fresh folder. */
function workspace(files: Record<string, string | object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'densepure-dependency-rules-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

const pkg = (name: string, dependencies: Record<string, string> = {}, devDependencies: Record<string, string> = {}) => ({ name, dependencies, devDependencies });

describe('power check: the rule catches each kind of violation in a synthetic workspace', () => {
  const dir = workspace({
    'packages/core/package.json': pkg('@densepure/core'),
    'packages/core/src/index.ts': "import { x } from '@densepure/backend';\nexport const y = x;\n",
    'packages/core/src/math.ts': "import { z } from 'zod';\nexport const t = z;\n",
    'packages/backend/package.json': pkg('@densepure/backend'),
    'packages/backend/src/index.ts': 'export const x = 1;\n',
    'packages/backend-web/package.json': pkg('@densepure/backend-web', { '@densepure/backend': 'workspace:^' }),
    'packages/backend-web/src/index.ts': "import '@densepure/backend';\n",
    'packages/zoo-cifar/package.json': pkg('@densepure/zoo-cifar'),
    'packages/voting/package.json': pkg('@densepure/voting', { '@densepure/backend-web': 'workspace:^' }, { '@densepure/zoo-cifar': 'workspace:*' }),
    'packages/voting/src/a.ts': "import type { Model } from '@densepure/backend-web';\nexport type M = Model;\n",
    'packages/voting/src/b.ts': "export * from '@densepure/zoo-cifar/models';\n",
    'packages/voting/src/c.ts': "export const load = async () => import('@densepure/zoo-cifar' as string);\n",
    'packages/voting/src/d.ts': "const r = require('@densepure/cli');\nexport const p = import.meta.resolve('@densepure/zoo-cifar');\nexport type T = typeof import('@densepure/eval').main;\nexport { r };\n",
    'packages/voting/src/e.ts': 'export const any = (name: string) => import(name);\n',
    'packages/voting/src/ok.ts': "import { x } from '@densepure/backend';\nimport { y } from './b.js';\nexport { x, y };\n",
    'packages/voting/src/a.test.ts': "import '@densepure/backend-web';\nimport '@densepure/cli';\n",
    'packages/voting/src/testing/fixture.ts': "import '@densepure/zoo-cifar';\n",
    'packages/voting/src/test-util/run.ts': "import '@densepure/backend-web';\n",
    'packages/ground-truth/package.json': pkg('@densepure/ground-truth', { '@densepure/backend-web': 'workspace:^', '@densepure/zoo-cifar': 'workspace:^' }),
    'packages/ground-truth/src/study/bin.ts': "import '@densepure/backend-web';\n",
    'packages/ground-truth/src/study/run.ts': "import '@densepure/backend-web';\n",
    'packages/app-kit/package.json': pkg('@densepure/app-kit', { '@densepure/backend-web': 'workspace:^', '@densepure/zoo-cifar': 'workspace:^' }),
    'packages/app-kit/src/index.ts': "import '@densepure/backend-web';\nexport * from '@densepure/zoo-cifar';\n",
    'packages/mystery/package.json': pkg('@densepure/mystery'),
    'apps/cli/package.json': pkg('@densepure/cli', { '@densepure/eval': 'workspace:^', '@densepure/backend-web': 'workspace:^' }),
    'apps/cli/src/main.ts': "import { main } from '@densepure/eval';\nimport '@densepure/cli/package.json';\nimport '@densepure/app-kit';\nexport { main };\n",
    'apps/eval/package.json': pkg('@densepure/eval'),
    'apps/eval/src/main.ts': 'export const main = 1;\n',
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const result = checkDependencyRules(dir);

  it('finds exactly the violations planted, with file, line and rule', () => {
    expect(result.violations.map(violationKey).sort()).toEqual(
      [
        'apps/cli/package.json -> @densepure/eval (dependencies)',
        'apps/cli/src/main.ts -> @densepure/eval (import)',
        'packages/core/src/index.ts -> @densepure/backend (import)',
        'packages/ground-truth/package.json -> @densepure/zoo-cifar (dependencies)',
        'packages/ground-truth/src/study/run.ts -> @densepure/backend-web (import)',
        'packages/voting/package.json -> @densepure/backend-web (dependencies)',
        'packages/voting/src/a.ts -> @densepure/backend-web (import type)',
        'packages/voting/src/b.ts -> @densepure/zoo-cifar (export from)',
        'packages/voting/src/c.ts -> @densepure/zoo-cifar (dynamic import)',
        'packages/voting/src/d.ts -> @densepure/cli (require)',
        'packages/voting/src/d.ts -> @densepure/eval (import type)',
        'packages/voting/src/d.ts -> @densepure/zoo-cifar (import.meta.resolve)',
      ].sort(),
    );
    const d = result.violations.filter((v) => v.file === 'packages/voting/src/d.ts').map(describeViolation).sort();
    expect(d).toEqual([
      'packages/voting/src/d.ts:1: require of @densepure/cli: a library never depends on an app: the composition root passes it in',
      'packages/voting/src/d.ts:2: import.meta.resolve of @densepure/zoo-cifar: a library never depends on a zoo: the composition root passes it in',
      'packages/voting/src/d.ts:3: import type of @densepure/eval: a library never depends on an app: the composition root passes it in',
    ]);
    expect(result.violations.find((v) => v.file === 'packages/core/src/index.ts')?.rule).toBe('core depends on nothing of ours');
    expect(result.violations.find((v) => v.file === 'apps/cli/src/main.ts')?.rule).toBe('no app depends on another app');
    expect(result.violations.find((v) => v.file === 'packages/voting/package.json')?.line).toBe(4);
  });

  it('reports a package the rule cannot place, and a library import of a computed name', () => {
    expect(result.unclassified).toEqual(['@densepure/mystery (packages/mystery)']);
    expect(result.computed.map(violationKey)).toEqual(['packages/voting/src/e.ts -> <computed> (dynamic import)']);
  });
});

describe('module specifiers', () => {
  it('reads every form of import, with type assertions and template literals', () => {
    const text = [
      "import a from 'a';",
      "import type { B } from 'b';",
      "import { type C } from 'c';",
      "export * from 'd';",
      "export { e } from 'e';",
      "import f = require('f');",
      "const g = await import(('g'));",
      'const h = await import(`h`);',
      "const i = await import('i' as string);",
      "type J = import('j').J;",
      "const k = require.resolve('k');",
      'const l = await import(name);',
      "const m = 'import(\"not-a-module\")';",
    ].join('\n');
    expect(moduleSpecifiers('x.ts', text).map((s) => `${s.line} ${s.how} ${s.specifier}`)).toEqual([
      '1 import a',
      '2 import type b',
      '3 import c',
      '4 export from d',
      '5 export from e',
      '6 import require f',
      '7 dynamic import g',
      '8 dynamic import h',
      '9 dynamic import i',
      '10 import type j',
      '11 require.resolve k',
      '12 dynamic import <computed>',
    ]);
  });
});
