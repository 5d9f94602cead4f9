#!/usr/bin/env node
// `pnpm test`: build, typecheck, lint and test every package through turbo, then print one summary line
// over all vitest runs ("Tests: N passed, N failed, N skipped") and exit non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const resultFiles = () =>
  ['packages', 'apps', 'tools']
    .filter((g) => existsSync(join(root, g)))
    .flatMap((g) => readdirSync(join(root, g)).map((d) => join(root, g, d, '.test-results.json')))
    .filter(existsSync);

for (const f of resultFiles()) rmSync(f);
const turbo = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', 'typecheck', 'lint', 'test', '--continue', '--concurrency=2', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});

let passed = 0, failed = 0, skipped = 0, files = 0;
for (const f of resultFiles()) {
  const r = JSON.parse(readFileSync(f, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  files += r.numTotalTestSuites > 0 ? r.testResults.length : 0;
}
const code = turbo.status !== 0 || failed > 0 ? 1 : 0;
console.log(`\nTest files: ${files} in ${resultFiles().length} packages${turbo.status !== 0 ? ` (turbo exited ${turbo.status}: see the failing task above)` : ''}`);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code);
