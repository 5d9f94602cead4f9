import { defineConfig } from 'vitest/config';

// Tests share two cores with other work: one file at a time, generous timeouts for the UNet comparisons.
export default defineConfig({
  test: { fileParallelism: false, testTimeout: 120_000, hookTimeout: 120_000 },
});
