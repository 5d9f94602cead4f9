// Debian's chromium, headless, driven by playwright-core: the flags that let it run on a closed network (no
// component updates, sync, QUIC or first-run fetches) in a fresh profile folder, removed on close.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** WebGPU on chromium's software adapter (SwiftShader). */
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'];

/** Starts chromium (extra flags appended); resolves to the browser context and a close that removes its profile. */
export async function launchChromium(extra = []) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (as root: apt-get install -y chromium; .ci/run installs it when missing)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'densepure-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extra], viewport: { width: 1240, height: 1000 } });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
