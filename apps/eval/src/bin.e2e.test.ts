// Smoke test of the BUILT binary under plain node (no vitest transform): `pnpm build` first (turbo's test task
// depends on build). Exit codes: 0 ok, 2 bad usage or experiment file, 1 anything else.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TinyFixture, tinyExperimentYaml, writeTinyFixture } from './test-util/fixtures.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'densepure-eval-bin-'));
let fixture: TinyFixture;
beforeAll(async () => {
  fixture = await writeTinyFixture(join(work, 'fixture'), 3);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, cwd: work });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

// idx 0 and 2 correct at radii 0.5 and 1.25, idx 1 abstains, idx 3 wrong: accuracy at 0 = 2/4, at 0.5 = 2/4,
// at 0.75 = 1/4, at 1.25 = 1/4 (>=), at 2 = 0.
const TSV = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t3\t3\t0.5\t1\t0:00:01\n1\t1\t-1\t0.0\t0\t0:00:01\n2\t5\t5\t1.25\t1\t0:00:01\n3\t2\t7\t0.9\t0\t0:00:01\n';

describe('densepure-eval (built binary, plain node)', () => {
  it('prints help and version', () => {
    expect(existsSync(bin), `${bin} missing: run pnpm build first`).toBe(true);
    const help = cli('--help');
    expect(help.code).toBe(0);
    for (const command of ['run', 'report', 'analyze']) expect(help.stdout).toContain(command);
    expect(cli('report', '--help').stdout).toContain('--radii');
    expect(cli('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('analyze prints Cohen\'s certified accuracies', () => {
    const file = join(work, 'small.tsv');
    writeFileSync(file, TSV);
    const r = cli('analyze', file, '--radii', '0,0.5,0.75,1.25,2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('radius\tcertified_accuracy\n0.0\t0.5\n0.5\t0.5\n0.75\t0.25\n1.25\t0.25\n2.0\t0.0\n');
  });

  it('analyze loads neither commander nor sharp nor vega (the report does)', () => {
    const hook = fileURLToPath(new URL('./test-util/refuse-heavy-imports.mjs', import.meta.url));
    const file = join(work, 'small.tsv');
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', hook, bin, ...args], { encoding: 'utf8', timeout: 120_000, cwd: work });
    const analyzed = run('analyze', file, '--radii', '0,0.5');
    expect(analyzed.status, analyzed.stderr).toBe(0);
    expect(analyzed.stdout).toBe('radius\tcertified_accuracy\n0.0\t0.5\n0.5\t0.5\n');
    // The hook itself works: any other command needs commander.
    expect(run('report', work).stderr).toMatch(/refused import of .*commander/);
  });

  it('runs a grid, skips it on rerun, and reports it', () => {
    const file = join(work, 'tiny.yaml');
    writeFileSync(file, tinyExperimentYaml(fixture, 'bin-grid'));
    const results = join(work, 'results');
    const first = cli('run', file, '--results', results);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/\[cell 6\/6 densepure-K2-b2_sigma0.5_auto\] done: 3 images.*grid 6\/6 cells, 18\/18 images/);
    expect(first.stdout).toMatch(/smoothing_sigma0.25_auto\s+3\s/);
    const again = cli('run', file, '--results', results);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr.match(/complete, skipped/g)).toHaveLength(6);
    const report = cli('report', join(results, 'bin-grid'), '--out', join(work, 'report'));
    expect(report.code, report.stderr).toBe(0);
    expect(readdirSync(join(work, 'report')).sort()).toEqual(['certified-accuracy.csv', 'certified-accuracy.md', 'certified-accuracy.png', 'certified-accuracy.svg', 'paired-comparisons.csv', 'report.html']);
  }, 120_000);

  describe('bad input: message, exit code, nothing written', () => {
    it('usage errors exit 2', () => {
      expect(cli('frobnicate').code).toBe(2);
      const radii = cli('analyze', join(work, 'small.tsv'), '--radii', '0,abc');
      expect(radii.code).toBe(2);
      expect(radii.stderr).toMatch(/--radii: 'abc' is not a radius/);
      expect(cli('run').code).toBe(2);
    });

    it('an invalid experiment exits 2 naming the key, and creates no results', () => {
      const file = join(work, 'bad.yaml');
      writeFileSync(file, 'name: bad\nmethods: [smoothing, magic]\nsigmas: [0.5]\ncertify: {N0: 10, N: 40, alpha: 0}\n');
      const r = cli('run', file, '--results', join(work, 'bad-results'));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/methods\[1\]\.kind: must be one of smoothing, dds, densepure/);
      expect(r.stderr).toMatch(/certify\.alpha: must be a number in \(0, 1\)/);
      expect(existsSync(join(work, 'bad-results'))).toBe(false);
    });

    it('missing files exit 1 and name the file', () => {
      const missing = cli('run', join(work, 'nope.yaml'));
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/experiment file not found: .*nope.yaml/);
      const analyze = cli('analyze', join(work, 'nope.tsv'));
      expect(analyze.code).toBe(1);
      expect(analyze.stderr).toMatch(/cannot read .*nope.tsv/);
      const report = cli('report', join(work, 'nowhere'));
      expect(report.code).toBe(1);
      expect(report.stderr).toMatch(/results folder .*nowhere does not exist/);
    });

    it('a malformed TSV exits 1 naming the line', () => {
      const file = join(work, 'torn.tsv');
      writeFileSync(file, `${TSV}4\t1\t1\tfar\t1\t0:00:01\n`);
      const r = cli('analyze', file);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/torn.tsv: line 6 is not a valid row/);
    });
  });
});
