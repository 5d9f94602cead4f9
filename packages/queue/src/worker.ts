import { hostname } from 'node:os';
import { either as E, taskEither as TE } from 'fp-ts';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type QueueConnection, probeRedis, redisOptions } from './connection.js';
import { type QueueError, describeCause } from './errors.js';
import { describeDifferences, identityDifferences, identitySha } from './identity.js';
import { DEFAULT_TUNING, type JobData, type PartResult, type QueueTuning, jobIdOf, parseJobId } from './jobs.js';
import { KEY_PREFIX, type RunRecord, hasCoordinator, isRunOpen, openRuns, queueNameOf, readRun, recordRefusal, withdrawRefusal } from './registry.js';
import { sleep } from './util.js';

/**
 * Why a job was not computed: a model failure (`work-failed`: the job is retried, then fails the run), or a job
 * that does not fit its run (`work-rejected`: edited in Redis, or from another version; failed at once, never
 * computed).
 */
export interface WorkFailure {
  readonly kind: 'work-failed' | 'work-rejected';
  readonly message: string;
}

/** Why this worker cannot serve a run (its models, data or backend); recorded for the coordinator to show. */
export interface WorkRefusal {
  readonly kind: 'work-refused';
  readonly message: string;
}

/** What a worker computes for the runs it accepted. */
export interface WorkHandler<P, R> {
  /** The run identity as this worker sees it, from its own models, data and configuration. */
  readonly identity: Readonly<Record<string, unknown>>;
  /** Jobs computed at once (default 1); a handler that merges their model calls takes several. */
  readonly concurrency?: number;
  compute(idx: number, payload: P): Promise<E.Either<WorkFailure, R>>;
  dispose(): Promise<void>;
}

export type WorkerEvent =
  /** `standing`: a certificate server's run, whose jobs are draws of served requests. */
  | { readonly kind: 'serving'; readonly runId: string; readonly jobs: number; readonly standing: boolean }
  | { readonly kind: 'refused'; readonly runId: string; readonly message: string }
  | { readonly kind: 'job-started'; readonly runId: string; readonly idx: number; readonly part: number }
  | { readonly kind: 'job-done'; readonly runId: string; readonly idx: number; readonly part: number; readonly seconds: number }
  | { readonly kind: 'job-failed'; readonly runId: string; readonly idx: number; readonly part: number; readonly message: string }
  /** Stopped (a signal) with a job still running after the stop grace: given up, another worker takes it over. */
  | { readonly kind: 'job-abandoned'; readonly runId: string; readonly idx: number; readonly part: number; readonly seconds: number }
  | { readonly kind: 'run-closed'; readonly runId: string }
  /** The run's coordinator has been gone for the orphan limit: the worker leaves the run until one comes back. */
  | { readonly kind: 'run-orphaned'; readonly runId: string; readonly seconds: number }
  | { readonly kind: 'connection-lost' }
  | { readonly kind: 'reconnected' };

export interface ServeOptions<P, R> {
  readonly connection: QueueConnection;
  /** This worker's name in results, progress and refusals (default host:pid). */
  readonly name?: string;
  /**
   * Builds this worker's pipeline for a run from the run's spec and its own models, data, backend and device;
   * Left: why it cannot (a message for the operator). Its identity is then compared with the run's.
   */
  readonly prepare: (run: RunRecord) => TE.TaskEither<WorkRefusal, WorkHandler<P, R>>;
  readonly tuning?: Partial<QueueTuning>;
  /** Stops after the job in progress, or gives it up once it has run on for the stop grace (tuning `stopGraceMs`). */
  readonly signal?: AbortSignal;
  /** Stops once no run it can serve has been open for this long, ms (default: serves until stopped). */
  readonly idleExitMs?: number;
  readonly onEvent?: (event: WorkerEvent) => void;
}

export interface ServeSummary {
  readonly name: string;
  readonly jobs: number;
  readonly runs: number;
  /**
   * Jobs given up when stopped (still running after the stop grace): their compute may still be running in this
   * process, so the caller should end it (a BullMQ lock lapses and another worker takes the job over).
   */
  readonly abandoned: number;
}

const noop = (): void => undefined;

/**
 * The worker side of queued runs: finds the open runs (oldest first), checks each run's identity against its own
 * before taking any job (refusing a mismatch with the differing fields, recorded for the coordinator to show),
 * then takes that run's jobs one at a time until the run closes. A SIGKILLed worker's job is retried by another
 * worker once its lock expires (BullMQ's stalled-job check); a Redis restart is ridden out by reconnecting.
 */
export function serve<P, R>(o: ServeOptions<P, R>): TE.TaskEither<QueueError, ServeSummary> {
  return async () => {
    const t: QueueTuning = { ...DEFAULT_TUNING, ...o.tuning };
    const probe = await probeRedis(o.connection, t.connectTimeoutMs)();
    if (E.isLeft(probe)) return probe;
    const name = o.name ?? `${hostname()}:${process.pid}`;
    const redis = new Redis(redisOptions(o.connection));
    redis.on('error', noop);
    let lost = false;
    redis.on('reconnecting', () => {
      if (!lost) o.onEvent?.({ kind: 'connection-lost' });
      lost = true;
    });
    redis.on('ready', () => {
      if (lost) o.onEvent?.({ kind: 'reconnected' });
      lost = false;
    });
    const isAborted = (): boolean => o.signal?.aborted === true;
    const aborted = new Promise<void>((resolve) => {
      if (isAborted()) resolve();
      o.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    const orAbort = <T>(p: Promise<T>): Promise<T | undefined> => Promise.race([p, aborted.then(() => undefined)]);

    // Refusals by run, identity and spec (the spec names what the worker opens: a coordinator restarted with fixed
    // paths is a new key, served at once), each kept for refusalRetryMs (a machine fixed meanwhile is tried again).
    const refused = new Map<string, number>();
    // The pipeline of the run served last, kept while the same run comes back (e.g. after a Redis restart).
    const cache: { current: { readonly key: string; readonly handler: WorkHandler<P, R> } | null } = { current: null };
    let jobs = 0;
    let runs = 0;
    let abandoned = 0;
    let idleSince = Date.now();

    /**
     * Jobs of a run still to be done: waiting, delayed or in progress. Jobs in progress count, so workers stay
     * while a dead worker's job waits for their stalled-job check; failed jobs do not, so a run that stopped on
     * a failure (open until its coordinator retries) does not hold workers back from the next run.
     */
    const pendingJobs = async (runId: string): Promise<number> => {
      const queue = new Queue(queueNameOf(runId), { connection: redis, prefix: KEY_PREFIX });
      try {
        const counts = await queue.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'waiting-children');
        return Object.values(counts).reduce((a, b) => a + b, 0);
      } finally {
        await queue.close();
      }
    };

    /** Whether another open run has jobs waiting (a worker then leaves a momentarily empty standing run for it). */
    const otherRunWaiting = async (runId: string): Promise<boolean> => {
      for (const other of await openRuns(redis)) if (other !== runId && (await pendingJobs(other)) > 0) return true;
      return false;
    };

    /** Takes the run's jobs until the run closes or has nothing left to do (or this worker stops). */
    const serveRun = async (run: RunRecord, handler: WorkHandler<P, R>): Promise<void> => {
      const processor = async (job: Job<JobData<P>>): Promise<PartResult<R>> => {
        // BullMQ fails (and retries) a job whose processor throws: the edge where a failure value becomes its
        // signal. A job that does not fit its run fails at once (UnrecoverableError), uncomputed.
        const rejected = jobProblem(job, run);
        if (rejected !== null) throw new UnrecoverableError(`rejected: job ${String(job.id)} ${rejected}; it was not computed`);
        const d = job.data;
        const started = performance.now();
        const key = String(job.id);
        inFlight.set(key, { idx: d.idx, part: d.part, started });
        try {
          const value = await handler.compute(d.idx, d.payload);
          if (E.isLeft(value)) throw value.left.kind === 'work-rejected' ? new UnrecoverableError(`rejected: ${value.left.message}; it was not computed`) : new Error(value.left.message);
          return { value: value.right, worker: name, seconds: (performance.now() - started) / 1000 };
        } finally {
          inFlight.delete(key);
        }
      };
      const inFlight = new Map<string, { readonly idx: number; readonly part: number; readonly started: number }>();
      const worker = new Worker<JobData<P>, PartResult<R>>(queueNameOf(run.runId), processor, {
        connection: redisOptions(o.connection),
        prefix: KEY_PREFIX,
        concurrency: handler.concurrency ?? 1,
        lockDuration: t.lockMs,
        stalledInterval: t.stalledCheckMs,
        maxStalledCount: t.maxStalled,
      });
      worker.on('error', noop); // connection trouble: BullMQ reconnects, the events above tell the operator
      worker.on('active', (job) => o.onEvent?.({ kind: 'job-started', runId: run.runId, idx: job.data.idx, part: job.data.part }));
      worker.on('completed', (job, result) => {
        jobs += 1;
        o.onEvent?.({ kind: 'job-done', runId: run.runId, idx: job.data.idx, part: job.data.part, seconds: result.seconds });
      });
      worker.on('failed', (job, error) => {
        if (job !== undefined) o.onEvent?.({ kind: 'job-failed', runId: run.runId, idx: job.data.idx, part: job.data.part, message: error.message });
      });
      runs += 1;
      o.onEvent?.({ kind: 'serving', runId: run.runId, jobs: run.jobs, standing: run.standing === true });
      let coordinatorSeen = Date.now();
      try {
        while (!isAborted()) {
          await sleep(t.pollMs, o.signal);
          const open = await orAbort(isRunOpen(redis, run.runId));
          if (open === false) {
            o.onEvent?.({ kind: 'run-closed', runId: run.runId });
            break;
          }
          // Without a coordinator nobody writes the rows (it may be restarting, or the run was finished another
          // way): compute on for the orphan limit, then leave the run until a coordinator holds it again.
          const held = await orAbort(hasCoordinator(redis, run.runId));
          if (held === true) coordinatorSeen = Date.now();
          else if (held === false && Date.now() - coordinatorSeen > t.orphanMs) {
            o.onEvent?.({ kind: 'run-orphaned', runId: run.runId, seconds: Math.round((Date.now() - coordinatorSeen) / 1000) });
            break;
          }
          if ((await orAbort(pendingJobs(run.runId))) === 0 && !(run.standing === true && !(await orAbort(otherRunWaiting(run.runId))))) break;
        }
      } finally {
        // Lets the job in progress finish and deliver its result; once stopped, for at most the stop grace: then
        // the job is given up, and its lock lapses for another worker to take it over (as from a killed worker).
        // A close still waiting a lock period after every compute returned waits on a command Redis lost (a
        // restart mid-job): it is cut off the same way, or the worker would never serve again.
        const closing = worker.close().then(
          () => true,
          () => true,
        );
        const settled = new AbortController();
        const graceOver = aborted.then(() => sleep(t.stopGraceMs, settled.signal)).then(() => false);
        const stuck = (async () => {
          while (inFlight.size > 0 && !settled.signal.aborted) await sleep(t.pollMs, settled.signal);
          await sleep(t.lockMs, settled.signal);
          return false;
        })();
        const closed = await Promise.race([closing, graceOver, stuck]);
        settled.abort();
        if (!closed) {
          for (const job of inFlight.values()) {
            abandoned += 1;
            o.onEvent?.({ kind: 'job-abandoned', runId: run.runId, idx: job.idx, part: job.part, seconds: (performance.now() - job.started) / 1000 });
          }
          void worker.close(true).catch(noop);
        }
      }
    };

    // While idle, a Redis query may wait for a Redis that is gone (commands wait for the reconnect): with an idle
    // limit it waits no longer than the limit, so an idle worker exits even while Redis is down.
    const IDLE = Symbol('idle');
    const idleLimit = (): Promise<typeof IDLE> | null =>
      o.idleExitMs === undefined ? null : new Promise((resolve) => setTimeout(() => resolve(IDLE), Math.max(0, idleSince + o.idleExitMs! - Date.now())).unref());
    const whileIdle = <T>(p: Promise<T>): Promise<T | undefined | typeof IDLE> => {
      const limit = idleLimit();
      return limit === null ? orAbort(p) : Promise.race([orAbort(p), limit]);
    };
    const idleTooLong = (): E.Either<QueueError, ServeSummary> =>
      lost
        ? E.left({
            kind: 'queue-lost',
            url: o.connection.url,
            message: `Redis at ${o.connection.url} is unreachable and this worker has served no run for ${Math.round(o.idleExitMs! / 1000)} s (its idle limit): stopping; start it again once Redis is back`,
          })
        : E.right({ name, jobs, runs, abandoned });

    try {
      while (!isAborted()) {
        const found = await whileIdle(openRuns(redis));
        if (found === IDLE) return idleTooLong();
        const ids = found ?? [];
        let served = false;
        // Runs with jobs waiting, oldest first; then standing runs (a server's) that are momentarily empty.
        const waiting: RunRecord[] = [];
        const standing: RunRecord[] = [];
        for (const runId of ids) {
          if (isAborted()) break;
          const run = await whileIdle(readRun(redis, runId));
          if (run === IDLE) return idleTooLong();
          if (run === null || run === undefined) continue;
          const pending = await whileIdle(pendingJobs(run.runId));
          if (pending === IDLE) return idleTooLong();
          if ((pending ?? 0) > 0) waiting.push(run);
          else if (run.standing === true) standing.push(run);
        }
        for (const run of [...waiting, ...standing]) {
          if (isAborted()) break;
          const key = `${run.runId}:${run.identitySha}:${identitySha({ spec: run.spec ?? null })}`;
          const refusedAt = refused.get(key);
          if (refusedAt !== undefined && Date.now() - refusedAt < t.refusalRetryMs) continue;
          // A run no coordinator collects waits (its results would only pile up) until one takes it again.
          const held = await whileIdle(hasCoordinator(redis, run.runId));
          if (held === IDLE) return idleTooLong();
          if (held !== true) continue;
          if (cache.current?.key !== key) {
            await cache.current?.handler.dispose();
            cache.current = null;
            const prepared = await o.prepare(run)();
            let refusal: string | null = null;
            if (E.isLeft(prepared)) {
              refusal = prepared.left.message;
            } else {
              const diffs = identityDifferences(run.identity, prepared.right.identity);
              if (diffs.length === 0) {
                cache.current = { key, handler: prepared.right };
                refused.delete(key);
                // An earlier refusal of this run by this worker (another spec, another process) no longer holds.
                await whileIdle(withdrawRefusal(redis, run.runId, name).catch(noop));
              } else {
                await prepared.right.dispose();
                refusal = `this worker's models, data or configuration differ from the run's (${describeDifferences(diffs)})`;
              }
            }
            if (refusal !== null) {
              const message = `worker ${name} refuses run ${run.runId}: ${refusal}`;
              refused.set(key, Date.now());
              if ((await whileIdle(recordRefusal(redis, run.runId, name, message))) === IDLE) return idleTooLong();
              o.onEvent?.({ kind: 'refused', runId: run.runId, message });
              continue;
            }
          }
          await serveRun(run, cache.current!.handler);
          served = true;
          idleSince = Date.now();
          break;
        }
        if (!served) {
          if (o.idleExitMs !== undefined && Date.now() - idleSince >= o.idleExitMs) break;
          await sleep(t.pollMs, o.signal);
        }
      }
      return E.right({ name, jobs, runs, abandoned });
    } catch (cause) {
      return E.left({ kind: 'queue-lost', url: o.connection.url, message: `serving the queue at ${o.connection.url} failed: ${describeCause(cause)}` });
    } finally {
      // A job given up may still be computing with this handler's models: leave them to the process's end.
      if (abandoned === 0) await cache.current?.handler.dispose();
      redis.disconnect();
    }
  };
}

/**
 * Why a job does not belong to the run it is served for (null: it does): another run or identity, an id that does
 * not name its image and part, or a payload whose hash is not the one in its id (edited in Redis).
 */
function jobProblem<P>(job: Job<JobData<P>>, run: RunRecord): string | null {
  const d = job.data as Partial<JobData<P>> | undefined;
  if (d === undefined || d === null || typeof d !== 'object') return 'has no data';
  if (d.runId !== run.runId || d.identitySha !== run.identitySha) return `was made for run identity ${String(d.identitySha).slice(0, 12)}, not the checked ${run.identitySha.slice(0, 12)}`;
  const at = parseJobId(String(job.id));
  if (at === null || at.idx !== d.idx || at.part !== d.part) return `is not named for image ${String(d.idx)} part ${String(d.part)}`;
  if (jobIdOf(at.idx, at.part, d.payload) !== job.id) return 'has a payload that is not the one it was made with (its hash differs from the one in its id)';
  return null;
}
