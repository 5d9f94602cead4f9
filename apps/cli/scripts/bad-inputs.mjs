#!/usr/bin/env node
// Prints the hostile-input table (case | exit code | message) from the built CLI: `pnpm build`, then
// `node apps/cli/scripts/bad-inputs.mjs [pattern]` (only the cases whose name matches). Exits 1 when a case
// misses its expected code or message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable, runBadInputs } from '../dist/bad-inputs.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-bad-inputs-'));
try {
  const results = await runBadInputs(work, (r) => process.stderr.write(`${r.problems.length === 0 ? 'ok  ' : 'FAIL'} ${r.item} ${r.name}\n`), process.argv[2] === undefined ? undefined : new RegExp(process.argv[2]));
  process.stdout.write(`${formatTable(results)}\n`);
  process.exitCode = results.some((r) => r.problems.length > 0) ? 1 : 0;
} finally {
  rmSync(work, { recursive: true, force: true });
}
