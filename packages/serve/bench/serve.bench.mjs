#!/usr/bin/env node
// Served certificates against the CLI, on the shipped default (DDS, sigma 0.5, radii 0.25 ... 1.0, alpha 0.001,
// sequential, N0 100): `densepure certify` on a slice of images gives the CLI's images/s; then `densepure serve`
// (the same binary) answers the same images at concurrency 1, 4, 16, 64 (autocannon, loopback), each answer checked
// against the CLI's row for that image. `--soak S` then keeps 16 requests (`--soak-concurrency`) in flight for S seconds and reports the
// server's memory over time and every failed request. `--queue URL` (or `--queue auto`: a private redis-server on a
// free port) serves with `densepure serve --queue`, its draws computed by `--queue-workers` `densepure worker`s
// started here (`--worker-threads` intra-op threads each); the same table, the same answer checks.
//
//   pnpm --filter @densepure/serve bench                      # 16 images, cap N 10000
//   node bench/serve.bench.mjs --images 32 --N 10000 --soak 600
//   node bench/serve.bench.mjs --queue auto --queue-workers 2 --worker-threads 1
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { shippedCatalog } from '@densepure/app-kit';
import { parseElapsed } from '@densepure/runner';

const { values: flags } = parseArgs({
  options: {
    images: { type: 'string', default: '16' },
    N: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '1,4,16,64' },
    rounds: { type: 'string', default: '1' },
    soak: { type: 'string', default: '0' },
    'soak-concurrency': { type: 'string', default: '16' },
    queue: { type: 'string' },
    'queue-workers': { type: 'string', default: '2' },
    'worker-threads': { type: 'string' },
    'draws-per-job': { type: 'string', default: '256' },
  },
});
const images = Number(flags.images);
const cap = Number(flags.N);
const levels = flags.concurrency.split(',').map(Number).filter((c) => c > 0);
const soakSeconds = Number(flags.soak);
const soakConcurrency = Number(flags['soak-concurrency']);
const bin = fileURLToPath(new URL('../../../apps/cli/dist/bin.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'densepure-serve-bench-'));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const say = (line) => process.stdout.write(`${line}\n`);

const opened = await shippedCatalog.dataset('default')();
if (opened._tag === 'Left') throw new Error(opened.left.message);
const dataset = opened.right;
const skip = Math.floor(dataset.size / images);
const indices = Array.from({ length: images }, (_, k) => k * skip);
const shared = ['--method', 'dds', '--sigma', '0.5', '--alpha', '0.001', '--N0', '100', '--N', String(cap), '--seed', '0'];

say(`# densepure serve vs densepure certify: DDS sigma 0.5, radii to 1.0, alpha 0.001, sequential, N0 100, cap N ${cap}, ${images} images (every ${skip}th), seed 0`);
say(`load before: ${load()}`);

// 1. The CLI on the same images: its rows, and images/s over the certify time (the rows' times add up to it).
const out = join(work, 'cli.tsv');
const started = performance.now();
const cli = spawnSync(process.execPath, [bin, 'certify', ...shared, '--max-radius', '1', '--skip', String(skip), '--max', String(images * skip), '--progress', 'none', '--out', out], { encoding: 'utf8' });
if (cli.status !== 0) throw new Error(`densepure certify failed: ${cli.stderr}`);
const wall = (performance.now() - started) / 1000;
const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
const certifySeconds = rows.reduce((s, r) => s + parseElapsed(r[5]), 0);
const expected = new Map(rows.map((r) => [Number(r[0]), { predict: Number(r[2]), radius: r[3] }]));
const cliRate = images / certifySeconds;
say(`cli: ${images} images in ${certifySeconds.toFixed(1)} s of certification (${wall.toFixed(1)} s with start-up): ${cliRate.toFixed(3)} images/s`);

// 2. With --queue: Redis (given, or a private one) and the workers that compute the server's draws.
const freePort = () =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
let redisServer = null;
let queueUrl = flags.queue;
if (queueUrl === 'auto') {
  const port = await freePort();
  redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work], { stdio: 'ignore' });
  queueUrl = `redis://127.0.0.1:${port}/0`;
  await new Promise((r) => setTimeout(r, 500));
}
const workers =
  queueUrl === undefined
    ? []
    : Array.from({ length: Number(flags['queue-workers']) }, (_, w) =>
        spawn(process.execPath, [bin, 'worker', '--queue', queueUrl, '--name', `bench${w}`, '--progress', 'none', ...(flags['worker-threads'] === undefined ? [] : ['--threads', flags['worker-threads']])], { stdio: ['ignore', 'ignore', 'inherit'] }),
      );
if (queueUrl !== undefined) say(`queue: ${queueUrl}, ${workers.length} densepure worker processes${flags['worker-threads'] === undefined ? '' : ` (${flags['worker-threads']} threads each)`}, ${flags['draws-per-job']} draws per job`);

// 3. The server, started as users start it.
const queueFlags = queueUrl === undefined ? [] : ['--queue', queueUrl, '--draws-per-job', flags['draws-per-job']];
const server = spawn(process.execPath, [bin, 'serve', '--port', '0', ...shared, ...queueFlags, '--max-in-flight', '64', '--max-queue', '1024', '--max-deadline', '3600', '--deadline', '3600'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let buffered = '';
  let at = '';
  server.stdout.on('data', (chunk) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      const entry = JSON.parse(line);
      if (entry.url !== undefined) at = entry.url;
      if (entry.msg === 'ready') resolve(at);
    }
  });
  server.once('exit', (code) => reject(new Error(`densepure serve exited ${code}`)));
});
const bodies = indices.map((index) => JSON.stringify({ parameters: { max_radius: 1, index }, inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(dataset.get(index).image) }] }));

const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const rss = () => rssOf(server.pid);
const workersRss = () => workers.reduce((sum, w) => sum + rssOf(w.pid), 0);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** Runs autocannon at `connections` for `amount` requests (or `duration` seconds): answer times and failures. */
async function fire(connections, options) {
  let next = 0;
  const latencies = [];
  let failed = 0;
  const t0 = performance.now();
  const instance = autocannon({
    url: `${url}/v2/models/default/infer`,
    connections,
    pipelining: 1,
    timeout: 3600,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
    ...options,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status !== 200) failed += 1;
    else latencies.push(ms);
  });
  instance.on('reqError', () => (failed += 1));
  const result = await new Promise((resolve) => instance.once('done', resolve));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { seconds, latencies, failed: failed + result.errors + result.timeouts };
}

// Checks every answer once per level with plain fetch (same images, same seed: the CLI's rows exactly).
async function checkAnswers() {
  let mismatched = 0;
  await Promise.all(
    indices.map(async (index, i) => {
      const response = await fetch(`${url}/v2/models/default/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[i] });
      const text = await response.text();
      const want = expected.get(index);
      let answer = null;
      try {
        answer = JSON.parse(text);
      } catch {
        answer = null;
      }
      if (response.status !== 200 || answer?.parameters?.label !== want.predict || answer.parameters.radius.toFixed(6) !== want.radius) {
        mismatched += 1;
        say(`image ${index}: HTTP ${response.status} ${text.slice(0, 300)} (the CLI: predict ${want.predict}, radius ${want.radius})`);
      }
    }),
  );
  return mismatched;
}

try {
  say(`server: ${url}, ${images} answers checked against the CLI rows: ${(await checkAnswers()) === 0 ? 'all equal' : 'MISMATCH'}`);
  say('');
  say('| concurrency | requests | certified req/s | vs CLI images/s | p50 s | p95 s | p99 s | failed | load (1 min) |');
  say('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of levels) {
    const amount = Math.max(c, images) * Number(flags.rounds);
    const { seconds, latencies, failed } = await fire(c, { amount });
    const rate = latencies.length / seconds;
    const p = (q) => (latencies.length === 0 ? '-' : (percentile(latencies, q) / 1000).toFixed(2));
    say(`| ${c} | ${amount} | ${rate.toFixed(3)} | ${(rate / cliRate).toFixed(2)} | ${p(50)} | ${p(95)} | ${p(99)} | ${failed} | ${loadavg()[0].toFixed(2)} |`);
  }
  if (soakSeconds > 0) {
    say('');
    say(`soak: ${soakConcurrency} in flight for ${soakSeconds} s; server RSS (MiB) every ${Math.max(10, Math.round(soakSeconds / 10))} s`);
    const samples = [rss()];
    const workerSamples = [workersRss()];
    const timer = setInterval(() => {
      samples.push(rss());
      workerSamples.push(workersRss());
    }, Math.max(10, Math.round(soakSeconds / 10)) * 1000);
    const { latencies, failed } = await fire(soakConcurrency, { duration: soakSeconds });
    clearInterval(timer);
    samples.push(rss());
    workerSamples.push(workersRss());
    const settled = samples.slice(1);
    say(`rss: ${samples.map((s) => s.toFixed(0)).join(' ')}`);
    if (workers.length > 0) say(`workers' rss (all ${workers.length} together): ${workerSamples.map((s) => s.toFixed(0)).join(' ')}`);
    say(`answers: ${latencies.length}, failed: ${failed}, rss growth after the first sample: ${(settled.at(-1) - settled[0]).toFixed(0)} MiB (max ${Math.max(...settled).toFixed(0)})`);
    say(`answers still equal to the CLI rows after the soak: ${(await checkAnswers()) === 0 ? 'yes' : 'NO'}`);
  }
  say(`load after: ${load()}`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r() : w.once('exit', r)))));
  redisServer?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
