import type { Redis } from 'ioredis';

/**
 * The small shared state next to BullMQ's own keys: which runs are open (so a worker knows what to serve),
 * each run's record (identity and spec, which a worker checks before taking any job), the workers' refusals
 * (so the coordinator can show them) and a lease that keeps two coordinators off one run.
 */
export const KEY_PREFIX = 'densepure';
const runsKey = `${KEY_PREFIX}:runs`;
const runKey = (runId: string): string => `${KEY_PREFIX}:run:${runId}`;
const refusalsKey = (runId: string): string => `${KEY_PREFIX}:run:${runId}:refusals`;
const leaseKey = (runId: string): string => `${KEY_PREFIX}:run:${runId}:coordinator`;

/** BullMQ queue name of a run (BullMQ names may not contain ':'). */
export const queueNameOf = (runId: string): string => `run-${runId}`;

/** What a worker learns about a run before it takes any of its jobs. */
export interface RunRecord {
  readonly runId: string;
  readonly identitySha: string;
  /** Everything that decides the numbers (models' and manifests' hashes, dataset, configuration). */
  readonly identity: Readonly<Record<string, unknown>>;
  /** What a worker needs to build its pipeline (the app's run spec, JSON). */
  readonly spec: unknown;
  /** Jobs of the run as first enqueued (for progress on the worker side). */
  readonly jobs: number;
  readonly createdAt: string;
  /**
   * A standing run (a certificate server's): its jobs arrive over time, so a worker stays with it while its
   * coordinator holds it and no other run has jobs waiting, instead of leaving it whenever it is momentarily empty.
   */
  readonly standing?: boolean;
}

/** Opens the run (idempotent: a restarted coordinator or one re-registering after a Redis restart is harmless). */
export async function registerRun(redis: Redis, record: RunRecord): Promise<void> {
  await redis.multi().set(runKey(record.runId), JSON.stringify(record)).zadd(runsKey, 'NX', Date.now(), record.runId).exec();
}

/** Closes the run: workers serving it stop, and no trace stays but BullMQ's own keys (obliterated separately). */
export async function closeRun(redis: Redis, runId: string): Promise<void> {
  await redis.multi().zrem(runsKey, runId).del(runKey(runId), refusalsKey(runId)).exec();
}

/** Open run ids, oldest first. */
export const openRuns = (redis: Redis): Promise<string[]> => redis.zrange(runsKey, 0, -1);

export const isRunOpen = async (redis: Redis, runId: string): Promise<boolean> => (await redis.zscore(runsKey, runId)) !== null;

export async function readRun(redis: Redis, runId: string): Promise<RunRecord | null> {
  const text = await redis.get(runKey(runId));
  if (text === null) return null;
  try {
    return JSON.parse(text) as RunRecord;
  } catch {
    return null;
  }
}

export async function recordRefusal(redis: Redis, runId: string, worker: string, message: string): Promise<void> {
  await redis.hset(refusalsKey(runId), worker, message);
}

export const readRefusals = (redis: Redis, runId: string): Promise<Record<string, string>> => redis.hgetall(refusalsKey(runId));

/** A worker now serves the run: its earlier refusal no longer holds. */
export async function withdrawRefusal(redis: Redis, runId: string, worker: string): Promise<void> {
  await redis.hdel(refusalsKey(runId), worker);
}

/** A coordinator starting a session: refusals of an earlier session (another spec, since-fixed machines) are dropped; workers that still refuse say so again. */
export async function clearRefusals(redis: Redis, runId: string): Promise<void> {
  await redis.del(refusalsKey(runId));
}

// Compare-and-set scripts, so a coordinator only ever extends or frees its own lease.
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if redis.call('exists', KEYS[1]) == 0 then return redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1 end
return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

/** Takes the run's coordinator lease when free; returns the current holder when taken. */
export async function takeLease(redis: Redis, runId: string, holder: string, ttlMs: number): Promise<{ readonly taken: true } | { readonly taken: false; readonly holder: string }> {
  const ok = await redis.set(leaseKey(runId), holder, 'PX', ttlMs, 'NX');
  if (ok === 'OK') return { taken: true };
  const current = await redis.get(leaseKey(runId));
  return current === holder ? { taken: true } : { taken: false, holder: current ?? 'unknown' };
}

/** Extends our lease (re-taking it when it vanished, e.g. after a Redis restart); false when someone else holds it. */
export const extendLease = async (redis: Redis, runId: string, holder: string, ttlMs: number): Promise<boolean> =>
  Number(await redis.eval(EXTEND, 1, leaseKey(runId), holder, String(ttlMs))) === 1;

/** Whether a coordinator holds the run's lease (is collecting it now, or was until less than a lease ago). */
export const hasCoordinator = async (redis: Redis, runId: string): Promise<boolean> => (await redis.exists(leaseKey(runId))) === 1;

export async function releaseLease(redis: Redis, runId: string, holder: string): Promise<void> {
  await redis.eval(RELEASE, 1, leaseKey(runId), holder);
}
