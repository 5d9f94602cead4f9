// The certificate server's side of the queue: one standing serve run per served model, held open while the
// server runs, and `count`, which hands one range of one request's draws to the workers as a job and resolves
// with the worker's vote counts. Failures are values: Redis lost, a job rejected or failed, a request stopped
// before any worker took its draws.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { either as E, taskEither as TE } from 'fp-ts';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { type QueueConnection, probeRedis, redisOptions } from '../connection.js';
import { type QueueError, describeCause } from '../errors.js';
import { identitySha as shaOf } from '../identity.js';
import { DEFAULT_TUNING, type JobData, type QueueTuning, asPartResult, jobIdOf } from '../jobs.js';
import { KEY_PREFIX, type RunRecord, closeRun, extendLease, queueNameOf, readRefusals, registerRun, releaseLease, takeLease } from '../registry.js';
import { settlesWithin } from '../util.js';
import { type DrawsAnswer, type DrawsPart, type ServeRunSpec, parseDrawsAnswer } from './protocol.js';

/** Why a range of draws came back without counts. `taken`: whether a worker had started on it. */
export type DrawsFailure =
  /** Redis is unreachable (at the call, or lost while the job was out). */
  | { readonly kind: 'draws-unreachable'; readonly message: string; readonly taken: boolean }
  /** A worker rejected the job uncomputed, failed it on every attempt, or answered something that is no count. */
  | { readonly kind: 'draws-failed'; readonly message: string; readonly taken: boolean }
  /** The caller's signal stopped it (a deadline, a shutdown); its job was withdrawn if no worker had it yet. */
  | { readonly kind: 'draws-stopped'; readonly message: string; readonly taken: boolean };

export interface DrawsDispatcherOptions {
  readonly connection: QueueConnection;
  readonly spec: ServeRunSpec;
  /** The serve run's identity from the server's own models (serveIdentity). */
  readonly identity: Readonly<Record<string, unknown>>;
  readonly tuning?: Partial<QueueTuning>;
  /** A worker refused the run (its models or backend differ). */
  readonly onRefusal?: (worker: string, message: string) => void;
  /** Lost and regained connections. */
  readonly onNotice?: (message: string) => void;
}

export interface DrawsDispatcher {
  /** The queue's address (password hidden). */
  readonly url: string;
  readonly runId: string;
  /** Hands draws [first, first + count) of one request to a worker; resolves with its counts, or why not. */
  count(part: DrawsPart, signal: AbortSignal): Promise<E.Either<DrawsFailure, DrawsAnswer>>;
  /** The refusals of this run that still hold, as last read (their messages). */
  refusals(): readonly string[];
  /** Withdraws what is still queued, closes the run and the connections. */
  close(): Promise<void>;
}

interface Waiting {
  readonly data: JobData<DrawsPart>;
  readonly count: number;
  taken: boolean;
  settle(result: E.Either<DrawsFailure, DrawsAnswer>): void;
}

const noop = (): void => undefined;

/** Opens a standing serve run on the queue (Redis checked first: a clear error within seconds when it is away). */
export function openDrawsDispatcher(o: DrawsDispatcherOptions): TE.TaskEither<QueueError, DrawsDispatcher> {
  return async () => {
    const t: QueueTuning = { ...DEFAULT_TUNING, ...o.tuning };
    const probe = await probeRedis(o.connection, t.connectTimeoutMs)();
    if (E.isLeft(probe)) return probe;
    const url = o.connection.url;
    const identitySha = shaOf(o.identity);
    // One run per server process: replicas of one server (same identity) each hold their own, workers serve both.
    const runId = randomBytes(8).toString('hex');
    const holder = `${hostname()}:${process.pid}:serve`;
    const record: RunRecord = { runId, identitySha, identity: o.identity, spec: o.spec, jobs: 0, createdAt: new Date().toISOString(), standing: true };
    const redis = new Redis(redisOptions(o.connection));
    redis.on('error', noop);
    const name = queueNameOf(runId);
    const queue = new Queue<JobData<DrawsPart>>(name, { connection: redisOptions(o.connection), prefix: KEY_PREFIX });
    const events = new QueueEvents(name, { connection: redisOptions(o.connection), prefix: KEY_PREFIX });
    queue.on('error', noop);
    events.on('error', noop);
    try {
      await takeLease(redis, runId, holder, t.leaseMs);
      await registerRun(redis, record);
      await events.waitUntilReady();
    } catch (cause) {
      redis.disconnect();
      await settlesWithin(Promise.all([events.close(), queue.close()]), 2000);
      return E.left({ kind: 'queue-unreachable', url, message: `cannot open the serve run on Redis at ${url}: ${describeCause(cause)}` });
    }

    const waiting = new Map<string, Waiting>();
    let sequence = 0;
    let lost = false;
    let closed = false;
    const seenRefusals = new Map<string, string>();
    const lostMessage = (taken: boolean): string =>
      `lost the connection to Redis at ${url} while the draws were ${taken ? 'with a worker' : 'waiting for a worker'}; the server reconnects and keeps serving: send the request again`;

    const finish = (id: string, result: E.Either<DrawsFailure, DrawsAnswer>): void => {
      const w = waiting.get(id);
      if (w === undefined) return;
      waiting.delete(id);
      w.settle(result);
    };
    const receive = (id: string, raw: unknown): void => {
      const w = waiting.get(id);
      if (w === undefined) {
        void queue.remove(id).catch(noop); // a stopped request's draws, done anyway: nobody waits for them
        return;
      }
      const envelope = asPartResult(raw);
      const answer = envelope === null ? null : parseDrawsAnswer(envelope.value, w.count, o.spec.numClasses);
      finish(
        id,
        answer === null
          ? E.left({ kind: 'draws-failed', taken: true, message: `a worker${envelope === null ? '' : ` (${envelope.worker})`} answered the draws with something that is no vote count; are all workers running the same densepure version as the server?` })
          : E.right(answer),
      );
      void queue.remove(id).catch(noop);
    };
    const failed = (id: string, reason: string): void => {
      const rejected = /^rejected: /.test(reason);
      finish(id, E.left({ kind: 'draws-failed', taken: true, message: rejected ? `a worker rejected the draws: ${reason.replace(/^rejected: /, '')}` : `the draws failed on every attempt on the workers: ${reason}` }));
      void queue.remove(id).catch(noop);
    };
    events.on('active', ({ jobId }) => {
      const w = waiting.get(jobId);
      if (w !== undefined) w.taken = true;
    });
    events.on('completed', ({ jobId, returnvalue }) => receive(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => {
      // A retry comes back to the queue; only a job in the failed set has failed for good.
      void queue.getJobState(jobId).then((state) => (state === 'failed' ? failed(jobId, failedReason) : undefined), noop);
    });

    const onLost = (): void => {
      if (lost || closed) return;
      lost = true;
      o.onNotice?.(`lost the connection to Redis at ${url}; requests get 503 until it is back`);
      for (const [id, w] of [...waiting]) finish(id, E.left({ kind: 'draws-unreachable', taken: w.taken, message: lostMessage(w.taken) }));
    };
    redis.on('close', onLost);
    redis.on('ready', () => {
      if (!lost || closed) return;
      // Redis may have restarted empty: open the run again before anything is enqueued.
      void takeLease(redis, runId, holder, t.leaseMs)
        .then(() => registerRun(redis, record))
        .then(() => {
          lost = false;
          o.onNotice?.(`reconnected to Redis at ${url}`);
        }, noop);
    });

    /** Results missed as events, jobs Redis lost, refusals; and the lease that keeps workers with this run. */
    let sweeping = false;
    const sweep = async (): Promise<void> => {
      if (sweeping || lost || closed) return;
      sweeping = true;
      try {
        await extendLease(redis, runId, holder, t.leaseMs);
        if ((await redis.exists(`${KEY_PREFIX}:run:${runId}`)) === 0) await registerRun(redis, record);
        for (const [id, w] of [...waiting]) {
          const job = await queue.getJob(id);
          if (job === undefined) {
            await queue.add('draws', w.data, jobOptions(id));
          } else if (job.finishedOn !== undefined && job.returnvalue !== null && job.returnvalue !== undefined) {
            receive(id, job.returnvalue);
          } else if (job.finishedOn !== undefined && (await job.getState()) === 'failed') {
            failed(id, job.failedReason ?? 'unknown');
          } else if (job.processedOn !== undefined) {
            w.taken = true;
          }
        }
        // Refusals that still hold (a worker that serves the run now has withdrawn its own).
        const current = await readRefusals(redis, runId);
        for (const [worker, message] of Object.entries(current)) {
          if (seenRefusals.get(worker) !== message) o.onRefusal?.(worker, message);
          seenRefusals.set(worker, message);
        }
        for (const worker of [...seenRefusals.keys()]) if (!(worker in current)) seenRefusals.delete(worker);
      } catch {
        // Redis trouble: the connection events tell; the next sweep tries again.
      } finally {
        sweeping = false;
      }
    };
    const timer = setInterval(() => void sweep(), Math.max(50, Math.min(t.sweepMs, t.leaseMs / 3)));

    const jobOptions = (id: string) => ({ jobId: id, attempts: t.attempts, backoff: { type: 'fixed' as const, delay: 1000 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } });

    const count = (part: DrawsPart, signal: AbortSignal): Promise<E.Either<DrawsFailure, DrawsAnswer>> =>
      new Promise((resolve) => {
        if (closed || signal.aborted) return resolve(E.left({ kind: 'draws-stopped', taken: false, message: 'stopped before the draws were handed out' }));
        if (lost) return resolve(E.left({ kind: 'draws-unreachable', taken: false, message: `Redis at ${url} is unreachable; the server reconnects and keeps serving: send the request again` }));
        const idx = sequence++;
        const id = jobIdOf(idx, 0, part);
        const data: JobData<DrawsPart> = { runId, identitySha, idx, part: 0, parts: 1, payload: part };
        const onAbort = (): void => {
          const w = waiting.get(id);
          if (w === undefined) return;
          finish(id, E.left({ kind: 'draws-stopped', taken: w.taken, message: w.taken ? 'stopped while a worker had the draws' : 'stopped before any worker took the draws' }));
          // Withdrawn if still waiting; a worker's job in progress cannot be removed (its result is removed when it comes).
          void queue.remove(id).catch(noop);
        };
        waiting.set(id, {
          data,
          count: part.count,
          taken: false,
          settle: (result) => {
            signal.removeEventListener('abort', onAbort);
            resolve(result);
          },
        });
        signal.addEventListener('abort', onAbort, { once: true });
        queue.add('draws', data, jobOptions(id)).then(
          // Stopped while it was being added: withdraw it now that it exists.
          () => (waiting.has(id) ? undefined : void queue.remove(id).catch(noop)),
          (cause: unknown) => finish(id, E.left({ kind: 'draws-unreachable', taken: false, message: `handing the draws to the queue at ${url} failed: ${describeCause(cause)}` })),
        );
      });

    return E.right({
      url,
      runId,
      count,
      refusals: () => [...seenRefusals.values()],
      close: async () => {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        for (const id of [...waiting.keys()]) finish(id, E.left({ kind: 'draws-stopped', taken: false, message: 'the server is shutting down' }));
        await settlesWithin(
          closeRun(redis, runId)
            .then(() => queue.obliterate({ force: true }))
            .then(() => releaseLease(redis, runId, holder)),
          2000,
        );
        await settlesWithin(Promise.all([events.close(), queue.close()]), 2000);
        redis.disconnect();
      },
    });
  };
}
