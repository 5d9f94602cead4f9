// The browser entry point must not reach node: walk its imports (TypeScript's own parser) and fail on any
// `node:` module or bare node built-in, and on the file source.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = import.meta.dirname;

/** Every module specifier a file imports or re-exports (static, type-only and dynamic). */
function specifiers(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The relative modules reachable from `entry`, and every non-relative specifier they import, by importer. */
function reachable(entry: string): { files: string[]; external: { from: string; specifier: string }[] } {
  const seen = new Set<string>();
  const external: { from: string; specifier: string }[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const s of specifiers(file)) {
      if (s.startsWith('.')) visit(join(dirname(file), s.replace(/\.js$/, '.ts')));
      else external.push({ from: relative(src, file), specifier: s });
    }
  };
  visit(entry);
  return { files: [...seen].map((f) => relative(src, f)).sort(), external };
}

const isNode = (specifier: string): boolean => specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);

describe('the browser entry point (portable.ts) imports nothing of node', () => {
  it('reaches no node built-in and not the file source', () => {
    const { files, external } = reachable(join(src, 'portable.ts'));
    expect(files).not.toContain('file-source.ts');
    expect(external.filter((e) => isNode(e.specifier))).toEqual([]);
    expect(new Set(external.map((e) => e.specifier.replace(/^(@[^/]+\/[^/]+|[^@/][^/]*).*$/, '$1')))).toEqual(new Set(['fp-ts', 'zod', '@noble/hashes']));
  });

  it('the walk sees node where it is (power check: the node entry point reaches the file source)', () => {
    const { files, external } = reachable(join(src, 'index.ts'));
    expect(files).toContain('file-source.ts');
    expect(external.filter((e) => isNode(e.specifier)).map((e) => e.from)).toEqual(expect.arrayContaining(['file-source.ts']));
  });
});
