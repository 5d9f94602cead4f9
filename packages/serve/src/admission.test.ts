import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { Admission } from './admission.js';
import type { ServeError } from './errors.js';

const late: ServeError = { kind: 'deadline', message: 'late' };

describe('admission', () => {
  it('admits up to maxInFlight, queues up to maxQueue in order, and turns the rest away with a retry time', async () => {
    const changes: [number, number][] = [];
    const admission = new Admission({ maxInFlight: 1, maxQueue: 2 }, (q, r) => changes.push([q, r]));
    const signal = new AbortController().signal;
    const first = await admission.acquire(signal, () => late);
    expect(E.isRight(first)).toBe(true);
    const order: string[] = [];
    const second = admission.acquire(signal, () => late).then((r) => (order.push('second'), r));
    const third = admission.acquire(signal, () => late).then((r) => (order.push('third'), r));
    const fourth = await admission.acquire(signal, () => late);
    expect(fourth).toEqual(E.left(expect.objectContaining({ kind: 'busy', retryAfter: expect.any(Number) })));
    expect(admission.queued).toBe(2);
    if (E.isRight(first)) first.right();
    const got = await second;
    expect(E.isRight(got)).toBe(true);
    if (E.isRight(got)) got.right();
    expect(E.isRight(await third)).toBe(true);
    expect(order).toEqual(['second', 'third']);
    expect(changes.at(-1)).toEqual([0, 1]);
  });

  it('lets a waiting request go when its signal aborts, and turns away waiting and new ones once closed', async () => {
    const admission = new Admission({ maxInFlight: 1, maxQueue: 5 });
    const held = await admission.acquire(new AbortController().signal, () => late);
    const controller = new AbortController();
    const waiting = admission.acquire(controller.signal, () => late);
    controller.abort();
    expect(await waiting).toEqual(E.left(late));
    expect(admission.queued).toBe(0);
    const other = admission.acquire(new AbortController().signal, () => late);
    const closed: ServeError = { kind: 'unavailable', message: 'stopping' };
    admission.close(closed);
    expect(await other).toEqual(E.left(closed));
    expect(await admission.acquire(new AbortController().signal, () => late)).toEqual(E.left(closed));
    expect(admission.running).toBe(1);
    if (E.isRight(held)) held.right();
    expect(admission.running).toBe(0);
  });
});
