import { Command } from 'commander';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { type ServeFlags, addServeCommand, serverOptionsFromFlags } from './serve.js';

/** The flags as `densepure serve ARGS` parses them, then the server's options (or the usage failure). */
async function optionsOf(args: string[], env: NodeJS.ProcessEnv = {}) {
  let flags: ServeFlags | undefined;
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  addServeCommand(program, async (o) => void (flags = o));
  try {
    await program.parseAsync(['serve', ...args], { from: 'user' });
  } catch (error) {
    return E.left({ message: (error as Error).message });
  }
  return serverOptionsFromFlags(flags!, args, env);
}

const message = (got: E.Either<{ message: string }, unknown>): string => (E.isLeft(got) ? got.left.message : 'accepted');

describe('densepure serve flags', () => {
  it('default to DDS, a fresh seed per request, a worker thread, and the caps', async () => {
    const got = await optionsOf([]);
    expect(E.isRight(got)).toBe(true);
    if (E.isLeft(got)) return;
    const [model] = got.right.models;
    expect(model!.defaults).toEqual({ method: { kind: 'dds' }, sigma: 0.5, n0: 100, n: 1000, alpha: 0.001 });
    expect(model!.models.workers).toBe(1);
    expect(got.right.token).toBeUndefined();
    const seeded = await optionsOf(['--seed', '7', '--method', 'densepure', '--K', '3', '--workers', '0'], { DENSEPURE_SERVE_TOKEN: 'sixteen-chars-or-more' });
    expect(seeded).toEqual(E.right(expect.objectContaining({ token: 'sixteen-chars-or-more' })));
    if (E.isRight(seeded)) {
      expect(seeded.right.models[0]!.defaults).toMatchObject({ seed: 7, method: { kind: 'densepure', votes: 3 } });
      expect(seeded.right.models[0]!.models.workers).toBe(0);
    }
  });

  it.each([
    [['--deadline', '0'], '--deadline must be a number > 0'],
    [['--deadline', '100', '--max-deadline', '10'], '--deadline 100 is above --max-deadline 10'],
    [['--N', '200000'], 'above --max-draws'],
    [['--alpha', '1e-9'], '--alpha 1e-9 must be in [--min-alpha, 1)'],
    [['--method', 'dds', '--K', '3'], '--K 3 applies to densepure and densepure-soft only'],
    [['--port', 'x'], '--port must be a whole number'],
    [['--log-level', 'loud'], "Allowed choices are fatal, error, warn, info, debug, silent"],
  ])('refuse %j', async (args, expected) => {
    expect(message(await optionsOf(args))).toContain(expected);
  });

  it('refuse a short token', async () => {
    expect(message(await optionsOf([], { DENSEPURE_SERVE_TOKEN: 'short' }))).toContain('shorter than 16 characters');
  });
});
