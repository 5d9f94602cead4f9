// Issue 12's bad-input list against the built binaries under plain node (see bad-inputs.ts): one test per case,
// and the table of case, exit code and message printed at the end. `node scripts/bad-inputs.mjs` prints it alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BadInputCase, type CaseResult, badInputCases, formatTable } from './bad-inputs.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-bad-inputs-'));
const results: CaseResult[] = [];
let cases: BadInputCase[] = [];
beforeAll(async () => {
  cases = await badInputCases(work);
}, 120_000);
afterAll(() => {
  console.log(`\n${formatTable(results)}\n`);
  rmSync(work, { recursive: true, force: true });
});

describe('bad inputs of issue 12 (built CLI, plain node)', () => {
  // The cases run in order: some build on the files an earlier one left (the kill -9 takeover after the refused second run).
  for (let i = 0; i < 31; i++) {
    it(`case ${i + 1}`, async (ctx) => {
      const c = cases[i];
      if (c === undefined) return ctx.skip();
      ctx.task.name = `item ${c.item}: ${c.name}`;
      const verdict = await c.run();
      results.push({ item: c.item, name: c.name, ...verdict });
      expect(verdict.problems, `${c.name}: ${verdict.message}`).toEqual([]);
    }, 240_000);
  }
});
