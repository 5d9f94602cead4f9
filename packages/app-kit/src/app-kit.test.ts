// The composition root's policy: what 'default' names, which failures exit 2 and which 1, and how a command's
// outcome becomes the exit code printed once.
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import type { QueueError } from '@densepure/queue';
import type { RunError } from '@densepure/runner';
import * as fashionZoo from '@densepure/zoo-fashion';
import * as zoo from '@densepure/zoo-mnist';
import { exitCodeOf, failureOf, outcomeRecorder, queueFailure, registerInstalledBackends, runFailure, shippedCatalog, usageFailure } from './index.js';

describe('shippedCatalog', () => {
  it("maps 'default' to the shipped zoo and passes paths through", async () => {
    expect(shippedCatalog.model('denoiser', 'default')).toBe(zoo.denoiserPath);
    expect(shippedCatalog.model('classifier', 'default')).toBe(zoo.classifierPath);
    expect(shippedCatalog.model('classifier', 'tfjs:/models/c.json')).toBe('tfjs:/models/c.json');
    const data = await shippedCatalog.dataset('default')();
    expect(E.isRight(data) && data.right.classNames).toEqual(zoo.classNames);
    const missing = await shippedCatalog.dataset('/nonexistent/data.bin')();
    expect(E.isLeft(missing)).toBe(true);
  });

  it('names each shipped zoo: mnist (and its first model by version), fashion; a name is never a path', async () => {
    for (const name of ['mnist', 'mnist-ddpm-small@1']) {
      expect(shippedCatalog.model('denoiser', name)).toBe(zoo.denoiserPath);
      expect(shippedCatalog.model('classifier', name)).toBe(zoo.classifierPath);
    }
    expect(shippedCatalog.model('denoiser', 'fashion')).toBe(fashionZoo.denoiserPath);
    expect(shippedCatalog.model('classifier', 'fashion')).toBe(fashionZoo.classifierPath);
    const fashion = await shippedCatalog.dataset('fashion')();
    expect(E.isRight(fashion) && fashion.right.source).toBe(fashionZoo.testSetPath);
    expect(E.isRight(fashion) && fashion.right.classNames).toEqual(fashionZoo.classNames);
    expect(shippedCatalog.model('classifier', 'toString')).toBe('toString');
  });

  it('registers the onnx backend (tfjs when it loads)', async () => {
    const notes = await registerInstalledBackends();
    const { registeredBackends } = await import('@densepure/backend');
    expect(registeredBackends().map((b) => b.name)).toContain('onnx');
    expect(notes.every((n) => n.name === 'tfjs')).toBe(true);
  });
});

describe('failures', () => {
  const spec: RunError = { kind: 'n0-exceeds-n', n0: 500, n: 100, message: 'N0 (500) must not exceed N (100)' };
  const files: RunError = { kind: 'io', path: '/x', message: 'cannot write /x' };
  const badUrl: QueueError = { kind: 'queue-url-invalid', url: 'x', message: 'bad address' };
  const lost: QueueError = { kind: 'queue-lost', url: 'redis://h', message: 'Redis went away' };

  it('a spec the user must change exits 2, files and models exit 1, settings spelled the app way', () => {
    expect(runFailure(spec, (s) => `--${s}`)).toEqual({ kind: 'failure', exitCode: 2, message: '--N0 (500) must not exceed --N (100): N0 draws only pick the class, N draws certify it' });
    expect(runFailure(files).exitCode).toBe(1);
    expect(queueFailure(badUrl).exitCode).toBe(2);
    expect(queueFailure(lost).exitCode).toBe(1);
  });

  it('tells a run error from a queue error by its kind', () => {
    expect(failureOf(lost)).toEqual(queueFailure(lost));
    expect(failureOf(spec)).toEqual(runFailure(spec));
  });

  it('a command outcome becomes its exit code, the failure printed once; a throw is a programmer error (1)', async () => {
    const printed: string[] = [];
    const write = (t: string): void => void printed.push(t);
    const recorder = outcomeRecorder();
    await recorder.action(async () => E.left(usageFailure('give --radii')))();
    expect(await exitCodeOf(async () => recorder.outcome, undefined, write)).toBe(2);
    expect(await exitCodeOf(async () => E.right(undefined), undefined, write)).toBe(0);
    expect(await exitCodeOf(async () => { throw new Error('bug'); }, undefined, write)).toBe(1);
    expect(await exitCodeOf(async () => { throw 'help shown'; }, (e) => (e === 'help shown' ? 0 : undefined), write)).toBe(0);
    expect(printed).toEqual(['error: give --radii\n', 'error: bug\n']);
  });
});
