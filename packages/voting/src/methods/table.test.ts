// The method table: one entry per kind, duplicates refused, and every entry's examples named, read back and
// planned consistently. Each entry's own behaviour is tested in <kind>.test.ts.
import { readFileSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import type { MethodEntry } from './entry.js';
import { SMOOTHING } from './smoothing.js';
import {
  type Method,
  METHOD_ENTRIES,
  METHOD_KINDS,
  METHOD_SETTINGS,
  METHOD_TABLE,
  describeMethod,
  makeMethodTable,
  methodEntry,
  methodIdentity,
  methodLabel,
  methodOrder,
  methodReads,
  methodSlug,
  needsDenoiser,
  parseMethodSettings,
  parseMethodSlug,
  votesOf,
} from './table.js';

const examples: Method[] = METHOD_ENTRIES.flatMap((e) => [...e.examples] as Method[]);

describe('the method table', () => {
  it('registers smoothing, dds and densepure first, in report order, each kind once', () => {
    expect(METHOD_KINDS.slice(0, 3)).toEqual(['smoothing', 'dds', 'densepure']);
    expect(new Set(METHOD_KINDS).size).toBe(METHOD_KINDS.length);
    expect(methodEntry('dds').kind).toBe('dds');
  });

  it('refuses a kind registered twice', () => {
    const twice = makeMethodTable([SMOOTHING, METHOD_TABLE.get('dds')!, SMOOTHING] as MethodEntry[]);
    expect(E.isLeft(twice) && twice.left).toMatchObject({ kind: 'duplicate-method', method: 'smoothing' });
    expect(E.isLeft(twice) && twice.left.message).toContain("method 'smoothing'");
    expect(E.isRight(makeMethodTable(METHOD_ENTRIES as readonly MethodEntry[]))).toBe(true);
  });

  it('has a test file for every entry', () => {
    for (const kind of METHOD_KINDS) {
      const test = readFileSync(new URL(`./${kind}.test.ts`, import.meta.url), 'utf8');
      expect(test, kind).toContain(`describe('${kind} entry'`);
    }
  });

  it("every example's slug is read back by its own entry only", () => {
    for (const m of examples) {
      const slug = methodSlug(m);
      expect(parseMethodSlug(slug)).toEqual(E.right(m));
      expect([...METHOD_TABLE.values()].filter((e) => e.parseSlug(slug) !== null).map((e) => e.kind)).toEqual([m.kind]);
    }
    expect(examples.map(methodSlug).slice(0, 5)).toEqual(['smoothing', 'dds', 'densepure-K5-b5', 'densepure-K1-full', 'densepure-K10-b2-dp']);
    expect(new Set(examples.map(methodSlug)).size).toBe(examples.length);
  });

  it('refuses what no method is called, listing the slug forms', () => {
    for (const slug of ['ddpm', 'densepure-K0-b2', 'densepure-K2', 'densepure-K2-b2-xx', 'cohen_sigma0.25']) {
      const r = parseMethodSlug(slug);
      expect(E.isLeft(r) && r.left.kind).toBe('unknown-method-slug');
    }
    const r = parseMethodSlug('ddpm');
    expect(E.isLeft(r) && r.left.message).toMatch(/^'ddpm' names no method: expected smoothing, dds/);
    for (const entry of METHOD_TABLE.values()) expect(E.isLeft(r) && r.left.message).toContain(entry.slugPattern);
  });

  it('names, describes and sorts through the entries', () => {
    expect(examples.map(methodLabel).slice(0, 5)).toEqual(['Gaussian smoothing', 'DDS (one-shot)', 'DensePure K=5, 5 steps', 'DensePure K=1, full chain', 'DensePure K=10, 2 steps (DensePure spacing)']);
    expect(describeMethod(examples[4]!)).toBe("DensePure: K=10 reverse runs, 2 respaced steps (DensePure's spacing) (Xiao et al. 2023)");
    expect(examples.map(methodOrder).slice(0, 5)).toEqual([[0], [1], [2, 5, 5, ''], [2, 1, Infinity, ''], [2, 10, 2, 'dp']]);
  });

  it('plans consistently with what each entry says: a denoiser unless it reads the noisy images, K votes of a chain or of local copies', () => {
    for (const m of examples) {
      const reads = methodReads(m);
      const chain = reads.from === 'chains' ? reads.chain : reads.from === 'local' && reads.purified.from === 'chain' ? reads.purified.chain : null;
      expect(needsDenoiser(m), methodSlug(m)).toBe(reads.from !== 'noisy');
      expect(votesOf(m), methodSlug(m)).toBe(reads.from === 'chains' || reads.from === 'local' ? reads.votes : 1);
      expect(methodIdentity(m).K, methodSlug(m)).toBe(votesOf(m));
      expect(methodIdentity(m).steps, methodSlug(m)).toBe(chain === null ? null : chain.steps);
      expect(E.isRight(parseMethodSettings(m.kind, {}))).toBe(true);
    }
  });

  it('refuses an unknown kind, listing the known ones', () => {
    const r = parseMethodSettings('ddpm', {});
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'unknown-method', method: 'ddpm', known: METHOD_KINDS });
    expect(E.isLeft(r) && r.left.message).toMatch(/^'ddpm' is not a method: use smoothing, dds/);
    for (const kind of METHOD_KINDS) expect(E.isLeft(r) && r.left.message).toContain(kind);
  });

  it('lists every setting once with its takers, default, description and check', () => {
    expect(METHOD_SETTINGS.slice(0, 3).map((s) => [s.name, s.kinds[0], s.default, s.choices])).toEqual([
      ['K', 'densepure', 1, undefined],
      ['steps', 'densepure', 10, undefined],
      ['spacing', 'densepure', 'uniform', ['uniform', 'densepure']],
    ]);
    expect(new Set(METHOD_SETTINGS.map((s) => s.name)).size).toBe(METHOD_SETTINGS.length);
    const [K, steps] = METHOD_SETTINGS;
    expect(K!.description).toMatch(/votes/);
    expect(K!.parse(3)).toEqual(E.right(3));
    expect(K!.parse(0)).toEqual(E.left('must be a whole number >= 1'));
    expect(steps!.parse('full')).toEqual(E.right('full'));
  });
});
