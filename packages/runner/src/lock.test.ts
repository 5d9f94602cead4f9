// Output locks against real processes: a live owner refuses, a dead one (kill -9) is taken over with a note.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireOutputLock, acquireOutputLocks, lockPath, takeoverNotes } from './lock.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-lock-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** A real process that stays alive until killed, and a lock file naming it as the owner. */
function lockHeldBy(out: string): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  writeFileSync(lockPath(out), JSON.stringify({ pid: child.pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
  return child;
}

describe('output lock', () => {
  it('is taken and released, and a second taker in this process is refused meanwhile', () => {
    const out = join(work, 'a.tsv');
    const lock = acquireOutputLock(out);
    if (E.isLeft(lock)) throw new Error(lock.left.message);
    expect(JSON.parse(readFileSync(lockPath(out), 'utf8')).pid).toBe(process.pid);
    const second = acquireOutputLock(out);
    expect(E.isLeft(second) && second.left.kind).toBe('output-locked');
    lock.right.release();
    expect(existsSync(lockPath(out))).toBe(false);
  });

  it('refuses while another live process holds it, naming pid and host', () => {
    const out = join(work, 'b.tsv');
    const child = lockHeldBy(out);
    const r = acquireOutputLock(out);
    expect(E.isLeft(r) && r.left.message).toMatch(new RegExp(`being written by another densepure run \\(pid ${child.pid} on ${hostname()}`));
    expect(existsSync(lockPath(out))).toBe(true);
  });

  it('takes over the lock of a process killed with -9, and says so', async () => {
    const out = join(work, 'c.tsv');
    const child = lockHeldBy(out);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const r = acquireOutputLock(out);
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(r.right.takenOver?.pid).toBe(child.pid);
    expect(takeoverNotes([r.right])[0]).toMatch(new RegExp(`stale lock c.tsv.lock of pid ${child.pid}.*no longer running`));
    r.right.release();
  });

  it('never takes over a lock of another host or one it cannot read', () => {
    const out = join(work, 'd.tsv');
    writeFileSync(lockPath(out), JSON.stringify({ pid: 999999, hostname: 'elsewhere', startedAt: 'x' }));
    expect(E.isLeft(acquireOutputLock(out))).toBe(true);
    writeFileSync(lockPath(out), 'garbage');
    const r = acquireOutputLock(out);
    expect(E.isLeft(r) && r.left.message).toMatch(/cannot be read.*delete/);
  });

  it('takes several locks all or none', () => {
    const free = join(work, 'e.tsv');
    const busy = join(work, 'f.tsv');
    lockHeldBy(busy);
    expect(E.isLeft(acquireOutputLocks([free, busy]))).toBe(true);
    expect(existsSync(lockPath(free))).toBe(false);
  });

  it('is an unwritable-output error where no file can be created', () => {
    const r = acquireOutputLock(join(work, 'no-such-folder', 'x.tsv'));
    expect(E.isLeft(r) && r.left.kind).toBe('output-not-writable');
  });
});
