// The built page in Debian's chromium (headless, playwright-core): it certifies a shipped digit with the CLI's
// numbers for the same seed and settings, and every bad input ends in a message on the page.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../scripts/browser.mjs';
import { servePage } from '../scripts/serve.mjs';

const cliBin = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));

// Cheap settings that still certify: DDS (one model call per draw), sigma 0.5, up to radius 0.25, a seed that is
// not the default so that the page is seen to pass it on.
const SETTINGS = { idx: 0, method: 'dds', sigma: '0.5', n0: 10, n: 1000, alpha: 0.001, maxRadius: 0.25, seed: 7, batch: 64 };

let server: { url: string; close(): Promise<void> };
let browser: { context: BrowserContext; close(): Promise<void> };
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'densepure-web-'));
  server = await servePage();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A fresh page, the models loaded (or their failure shown). */
async function openPage(prepare?: (page: Page) => Promise<unknown>): Promise<Page> {
  const page = await browser.context.newPage();
  await prepare?.(page);
  await page.goto(server.url);
  await page.waitForFunction(() => !(document.getElementById('certify') as HTMLButtonElement).disabled || !document.getElementById('global-error')!.hidden, null, { timeout: 120_000 });
  return page;
}

const visibleText = async (page: Page, id: string): Promise<string> => ((await page.isHidden(`#${id}`)) ? '' : ((await page.textContent(`#${id}`)) ?? ''));

/** A PNG of the given size drawn in the page (a grey square on black). */
const pngOf = (page: Page, width: number, height: number): Promise<Buffer> =>
  page
    .evaluate(
      ([w, h]) => {
        const c = document.createElement('canvas');
        c.width = w!;
        c.height = h!;
        const ctx = c.getContext('2d')!;
        ctx.fillStyle = '#000';
        ctx.fillRect(0, 0, w!, h!);
        ctx.fillStyle = '#fff';
        ctx.fillRect(w! / 4, h! / 4, w! / 2, h! / 2);
        return c.toDataURL('image/png').split(',')[1]!;
      },
      [width, height],
    )
    .then((b64) => Buffer.from(b64, 'base64'));

describe('the page in chromium', () => {
  it('certifies a shipped digit with the numbers `densepure certify` gives for the same seed and settings', async () => {
    const page = await openPage();
    expect(await page.textContent('#runtime')).toMatch(/^onnxruntime-web \S+ \(wasm\)$/);
    await page.fill('#shipped-idx', String(SETTINGS.idx));
    await page.click('#use-shipped');
    await page.selectOption('#method', SETTINGS.method);
    await page.selectOption('#sigma', SETTINGS.sigma);
    for (const [id, value] of [['n0', SETTINGS.n0], ['n', SETTINGS.n], ['alpha', SETTINGS.alpha], ['max-radius', SETTINGS.maxRadius], ['seed', SETTINGS.seed], ['batch', SETTINGS.batch]] as const) {
      await page.fill(`#${id}`, String(value));
    }
    await page.click('#certify');
    await page.waitForFunction(() => document.getElementById('result')!.dataset.done === 'true' || !document.getElementById('run-error')!.hidden, null, { timeout: 240_000 });
    expect(await visibleText(page, 'run-error')).toBe('');
    const shown = await page.$eval('#result', (e) => ({ ...(e as HTMLElement).dataset }));
    // Round by round: the histogram and the bound were drawn, and the purified samples shown.
    expect(await page.$$eval('#samples canvas', (c) => c.length)).toBeGreaterThan(0);

    const out = join(work, 'cli.tsv');
    const cli = spawnSync(
      process.execPath,
      [cliBin, 'certify', '--method', SETTINGS.method, '--sigma', SETTINGS.sigma, '--N0', String(SETTINGS.n0), '--N', String(SETTINGS.n), '--alpha', String(SETTINGS.alpha),
        '--max-radius', String(SETTINGS.maxRadius), '--seed', String(SETTINGS.seed), '--batch', String(SETTINGS.batch), '--skip', '1', '--max', String(SETTINGS.idx + 1), '--progress', 'none', '--out', out],
      { encoding: 'utf8' },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const row = readFileSync(out, 'utf8').trim().split('\n').at(-1)!.split('\t');
    const cost = JSON.parse(readFileSync(`${out}.cost`, 'utf8').trim().split('\n').at(-1)!) as { pA: number; draws: { estimation: number } };
    expect(row[0]).toBe(String(SETTINGS.idx));
    expect(shown.label).toBe(row[2]);
    expect(Number(shown.radius).toFixed(6)).toBe(row[3]);
    expect(Number(shown.radius)).toBeGreaterThanOrEqual(SETTINGS.maxRadius);
    expect(Number(shown.lower)).toBe(cost.pA);
    expect(Number(shown.estimation)).toBe(cost.draws.estimation);
    await page.close();
  });

  it('refuses a file that is not an image, and an image of another size, with what to do; takes a 28 x 28 one', async () => {
    const page = await openPage();
    await page.setInputFiles('#upload', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a digit') });
    await expect.poll(() => visibleText(page, 'input-error')).toMatch(/'notes\.txt' is not an image \(text\/plain\): upload a PNG or JPEG/);
    await page.setInputFiles('#upload', { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not a png at all') });
    await expect.poll(() => visibleText(page, 'input-error')).toMatch(/'broken\.png' could not be decoded as an image/);
    await page.setInputFiles('#upload', { name: 'big.png', mimeType: 'image/png', buffer: await pngOf(page, 40, 30) });
    await expect.poll(() => visibleText(page, 'input-error')).toMatch(/'big\.png' is 40 × 30 pixels; .* take 28 × 28 grey images: resize it to 28 × 28/);
    await page.setInputFiles('#upload', { name: 'ok.png', mimeType: 'image/png', buffer: await pngOf(page, 28, 28) });
    await expect.poll(() => visibleText(page, 'input-error')).toBe('');
    // A setting out of range is refused before any draw, and the page stays usable.
    await page.fill('#n0', '0');
    await page.click('#certify');
    await expect.poll(() => visibleText(page, 'settings-error')).toMatch(/N0 must be a whole number >= 1, got 0/);
    expect(await page.isEnabled('#certify')).toBe(true);
    await page.close();
  });

  // chromium started with --disable-gpu and without --enable-unsafe-webgpu offers no WebGPU adapter.
  it('says so when WebGPU is asked for and this browser has none, and runs on wasm', async () => {
    const page = await openPage();
    await page.selectOption('#device', 'webgpu');
    await page.waitForFunction(() => (document.getElementById('runtime')!.textContent ?? '') !== '' && !(document.getElementById('certify') as HTMLButtonElement).disabled, null, { timeout: 120_000 });
    expect(await visibleText(page, 'device-note')).toMatch(/^WebGPU is not used: webgpu requested but this browser (has no WebGPU \(navigator\.gpu is missing\)|offers no WebGPU adapter); running on wasm\.$/);
    expect(await page.textContent('#runtime')).toMatch(/\(wasm\)$/);
    await page.close();
  });

  it('says which model failed to load and why, and nothing waits for it', async () => {
    const page = await openPage((p) => p.route('**/zoo/models/denoiser.onnx', (route) => route.fulfill({ status: 404, body: 'gone' })));
    expect(await visibleText(page, 'global-error')).toMatch(/The models failed to load: diffusion model: .*not found: .*denoiser\.onnx/);
    expect(await page.textContent('#status')).toBe('the models are not loaded');
    expect(await page.isDisabled('#certify')).toBe(true);
    await page.close();
    const corrupt = await openPage((p) => p.route('**/zoo/models/classifier.onnx', (route) => route.fulfill({ status: 200, body: Buffer.alloc(563622, 7) })));
    expect(await visibleText(corrupt, 'global-error')).toMatch(/The models failed to load: classifier: .*sha256/);
    await corrupt.close();
  });
});
