// Loading optional runtime packages: CommonJS require from here, and what a failed load says.
import { createRequire } from 'node:module';

// The tfjs packages are CommonJS: require() them. An ESM import() would make node lex their multi-megabyte
// bundles for named exports first, which costs a few hundred milliseconds of startup for nothing.
export const requireCjs = createRequire(import.meta.url);

/** The first line of what was thrown, for a one-line reason. */
export const firstLine = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause)).split('\n')[0] ?? '';

/** Whether a failed require/import means the package is not installed (rather than broken). */
export const notInstalled = (cause: unknown): boolean => {
  const code = (cause as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
};
