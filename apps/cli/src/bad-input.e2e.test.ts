// Issue 12's bad-input list against the built binaries under plain node (see bad-inputs.ts): one test per case,
// and the table of case, exit code and message printed at the end. `node scripts/bad-inputs.mjs` prints it alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CaseResult, badInputCases, formatTable } from './bad-inputs.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-bad-inputs-'));
const results: CaseResult[] = [];
const cases = await badInputCases(work);
afterAll(() => {
  console.log(`\n${formatTable(results)}\n`);
  rmSync(work, { recursive: true, force: true });
});

describe('hostile inputs (built CLI, plain node)', () => {
  // The cases run in order: some build on the files an earlier one left (the kill -9 takeover after the refused second run).
  for (const c of cases) {
    it(`item ${c.item}: ${c.name}`, async () => {
      const verdict = await c.run();
      results.push({ item: c.item, name: c.name, ...verdict });
      expect(verdict.problems, `${c.name}: ${verdict.message}`).toEqual([]);
    }, 240_000);
  }
});
