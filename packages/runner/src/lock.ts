// One writer per output: `<out>.lock` beside a run's file, created with O_EXCL (through a hard link, so it appears
// whole) and holding the owner's pid, host and start time. A second process is refused while the owner lives; a
// lock whose process is gone (kill -9, a crash) is taken over, and the caller is told. A pid lock rather than
// proper-lockfile's mtime lock: staleness is decided at once after a crash, and a long model call that blocks the
// event loop never makes a live run's lock look stale.
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { either as E } from 'fp-ts';
import type { RunError } from './errors.js';

export const lockPath = (out: string): string => `${out}.lock`;

/** What a lock file holds. */
export interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
}

/** A held lock; `takenOver` names the dead owner whose stale lock was replaced. */
export interface OutputLock {
  readonly path: string;
  readonly takenOver?: LockOwner;
  release(): void;
}

const held = new Set<string>();
let exitHookInstalled = false;

/** Locks still held when the process exits (process.exit, a signal the app turns into an exit) are removed. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const path of held) rmSync(path, { force: true });
    held.clear();
  });
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (cause) {
    // EPERM: it exists but belongs to someone else.
    return (cause as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function readOwner(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.hostname === 'string' && typeof o.startedAt === 'string' ? { pid: o.pid, hostname: o.hostname, startedAt: o.startedAt } : null;
  } catch {
    return null;
  }
}

const errorMessage = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

/**
 * Takes `<out>.lock`, or says who holds it. A lock of this host whose pid is gone is stale and taken over; a lock of
 * another host, or an unreadable one, is never taken over (its owner cannot be checked from here).
 */
export function acquireOutputLock(out: string): E.Either<RunError, OutputLock> {
  const path = lockPath(out);
  const me: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  // A short temp name: the output's own name may already be close to the 255-byte limit.
  const tmp = join(dirname(path), `.densepure-lock-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  let takenOver: LockOwner | undefined;
  try {
    writeFileSync(tmp, `${JSON.stringify(me)}\n`);
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw cause;
      }
      const owner = readOwner(path);
      if (owner === null) {
        return E.left({ kind: 'output-locked', path: out, lock: path, message: `${out} is locked by ${path}, which cannot be read; if no densepure run is writing ${out}, delete ${path}` });
      }
      if (owner.hostname !== me.hostname || isAlive(owner.pid)) {
        return E.left({
          kind: 'output-locked',
          path: out,
          lock: path,
          owner,
          message: `${out} is being written by another densepure run (pid ${owner.pid} on ${owner.hostname}, since ${owner.startedAt}); wait for it to finish or choose another output. If that process is gone, delete ${path}`,
        });
      }
      // The owner is gone: take its place. Removing and linking again races only with another taker, and the
      // loser of that race finds a live owner on its next look.
      rmSync(path, { force: true });
      takenOver = owner;
    }
  } catch (cause) {
    return E.left({ kind: 'output-not-writable', path: out, cause: errorMessage(cause), message: `cannot write ${out}: ${errorMessage(cause)}; choose a writable path` });
  } finally {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Nothing was created where the folder is not one.
    }
  }
  installExitHook();
  held.add(path);
  let released = false;
  return E.right({
    path,
    ...(takenOver === undefined ? {} : { takenOver }),
    release: () => {
      if (released) return;
      released = true;
      held.delete(path);
      // Only our own lock: never remove one that another process took over after us.
      if (readOwner(path)?.pid === me.pid) rmSync(path, { force: true });
    },
  });
}

/** Takes the locks of several outputs, all or none. */
export function acquireOutputLocks(outs: readonly string[]): E.Either<RunError, OutputLock[]> {
  const locks: OutputLock[] = [];
  for (const out of outs) {
    const lock = acquireOutputLock(out);
    if (E.isLeft(lock)) {
      for (const l of locks) l.release();
      return lock;
    }
    locks.push(lock.right);
  }
  return E.right(locks);
}

/** A line for each stale lock that was taken over, for the apps to print. */
export const takeoverNotes = (locks: readonly OutputLock[]): string[] =>
  locks.flatMap((l) => (l.takenOver === undefined ? [] : [`took over the stale lock ${basename(l.path)} of pid ${l.takenOver.pid} (started ${l.takenOver.startedAt}), which is no longer running`]));
