#!/usr/bin/env node
// The `densepure-eval` command: the compiled program in dist/. This file exists before the build, so
// `pnpm install` can link the command in a fresh clone (a bin pointing into dist/ cannot be linked until it is built).
try {
  await import('../dist/bin.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/bin.js')) throw error;
  process.stderr.write('error: densepure-eval is not built yet: run pnpm build (in the repository: pnpm install && pnpm build)\n');
  process.exit(1);
}
