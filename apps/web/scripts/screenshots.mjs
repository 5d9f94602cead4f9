// Takes the README's screenshots of the built page (pnpm --filter @densepure/web screenshots): a shipped digit
// certified with the page's default settings, and the 2-D ground-truth view. Writes screenshots/*.png.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './browser.mjs';
import { servePage } from './serve.mjs';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');
mkdirSync(out, { recursive: true });
const server = await servePage();
const browser = await launchChromium();
try {
  const page = await browser.context.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => !document.getElementById('certify').disabled, null, { timeout: 120_000 });
  await page.click('#thumbs canvas:nth-child(8)');
  await page.click('#certify');
  await page.waitForFunction(() => document.getElementById('result').dataset.done === 'true' || !document.getElementById('run-error').hidden, null, { timeout: 600_000 });
  await page.screenshot({ path: join(out, 'certify.png'), fullPage: true });
  await page.click('#tab-theory');
  await page.waitForSelector('#theory-canvases canvas');
  const box = await page.locator('#theory-canvases canvas').nth(1).boundingBox();
  // A point between the two 'ring' modes, where the posterior mean lands in 'centre'.
  await page.mouse.click(box.x + box.width * 0.36, box.y + box.height * 0.6);
  await page.screenshot({ path: join(out, 'theory.png'), fullPage: true });
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await server.close();
}
