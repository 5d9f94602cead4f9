import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { either as E, taskEither as TE } from 'fp-ts';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { type QueueConnection, probeRedis, redisOptions } from './connection.js';
import { type QueueError, describeCause } from './errors.js';
import { identitySha as shaOf } from './identity.js';
import { DEFAULT_TUNING, type JobData, type PartResult, type QueueTuning, asPartResult, jobIdOf, parseJobId } from './jobs.js';
import { ClusterMeter, type ClusterProgress } from './progress.js';
import { KEY_PREFIX, type RunRecord, clearRefusals, closeRun, extendLease, queueNameOf, readRefusals, registerRun, releaseLease, takeLease } from './registry.js';
import { Wakeup, settlesWithin, sleep } from './util.js';

/** One unit of the run (an image) and the parts its work is split into (one job each). */
export interface QueueItem<P> {
  readonly idx: number;
  readonly parts: readonly P[];
}

export interface CollectOptions<P, R> {
  readonly connection: QueueConnection;
  /** Everything that decides the numbers; workers refuse the run when theirs differs. */
  readonly identity: Readonly<Record<string, unknown>>;
  /** What a worker needs to build its pipeline (JSON). */
  readonly spec: unknown;
  /** The items still to do, in the order their results are handed back (index order). */
  readonly items: readonly QueueItem<P>[];
  /** Work done in an earlier session of this run (rows already written), for progress only. */
  readonly doneBefore?: { readonly items: number; readonly jobs: number };
  /** Checks a worker's value for one part; null when it is not a result of this run's kind. */
  readonly parseResult: (value: unknown, idx: number, part: number) => R | null;
  /** Receives each item's part results, strictly in the order of `items`, once all its parts are in. */
  readonly onItem: (idx: number, results: readonly PartResult<R>[]) => void | Promise<void>;
  readonly onProgress?: (progress: ClusterProgress) => void;
  /** A worker refused the run (its models, data or configuration differ). */
  readonly onRefusal?: (worker: string, message: string) => void;
  /** Things an operator wants to know (lost connection, reconnected, re-enqueued jobs). */
  readonly onNotice?: (message: string) => void;
  readonly tuning?: Partial<QueueTuning>;
  /** Stops collecting (rows written so far stay; jobs stay queued for a later session). */
  readonly signal?: AbortSignal;
  /** Name of this coordinator in the run's lease (default host:pid:random). */
  readonly holder?: string;
}

export interface CollectSummary {
  readonly runId: string;
  /** Items handed to onItem in this session. */
  readonly items: number;
  /** Jobs enqueued again because Redis had lost them (a restart without persistence). */
  readonly reenqueued: number;
  /** Results that were already in Redis when this session started (a restarted coordinator). */
  readonly foundDone: number;
  readonly aborted: boolean;
}

interface ItemState<P, R> {
  readonly item: QueueItem<P>;
  readonly results: (PartResult<R> | undefined)[];
  missing: number;
}

const noop = (): void => undefined;

/**
 * The coordinator side of a queued run: opens the run in Redis, enqueues one BullMQ job per part (job ids are
 * deterministic, so enqueueing is idempotent and a restarted coordinator adds nothing that exists), collects the
 * results (events for speed, a periodic sweep of every outstanding job for safety) and hands them to `onItem` in
 * item order. Jobs Redis lost are enqueued again; results already in Redis are accepted; failed jobs of an earlier
 * session are retried once. Ends by closing the run and removing its queue.
 */
export function collect<P, R>(o: CollectOptions<P, R>): TE.TaskEither<QueueError, CollectSummary> {
  return async () => {
    const t: QueueTuning = { ...DEFAULT_TUNING, ...o.tuning };
    const probe = await probeRedis(o.connection, t.connectTimeoutMs)();
    if (E.isLeft(probe)) return probe;

    const identitySha = shaOf(o.identity);
    const runId = identitySha.slice(0, 16);
    const isAborted = (): boolean => o.signal?.aborted === true;
    const holder = o.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const redis = new Redis(redisOptions(o.connection));
    redis.on('error', noop); // connection errors surface as the outage watchdog below

    // One coordinator per run: wait out the lease of a killed predecessor, refuse a live one.
    const leaseDeadline = Date.now() + 2 * t.leaseMs;
    for (let tries = 0; ; tries++) {
      const lease = await takeLease(redis, runId, holder, t.leaseMs);
      if (lease.taken) break;
      if (tries === 0) o.onNotice?.(`this run is held by coordinator ${lease.holder}; waiting up to ${Math.round((2 * t.leaseMs) / 1000)} s for its lease to lapse (it may have been killed)`);
      if (Date.now() > leaseDeadline || isAborted()) {
        redis.disconnect();
        return E.left({
          kind: 'queue-run-busy',
          holder: lease.holder,
          message: `another coordinator (${lease.holder}) is collecting this run (same models, data and configuration) on ${o.connection.url}; wait for it to finish or stop it first`,
        });
      }
      await sleep(Math.min(500, t.leaseMs / 4), o.signal);
    }

    // Refusals of an earlier session may be stale (another spec, a machine fixed since): workers that still refuse say so again.
    await clearRefusals(redis, runId).catch(noop);
    const jobsTotalNow = o.items.reduce((s, i) => s + i.parts.length, 0);
    const record: RunRecord = { runId, identitySha, identity: o.identity, spec: o.spec, jobs: jobsTotalNow + (o.doneBefore?.jobs ?? 0), createdAt: new Date().toISOString() };
    const name = queueNameOf(runId);
    const queue = new Queue<JobData<P>>(name, { connection: redisOptions(o.connection), prefix: KEY_PREFIX });
    const events = new QueueEvents(name, { connection: redisOptions(o.connection), prefix: KEY_PREFIX });
    queue.on('error', noop);
    events.on('error', noop);

    const meter = new ClusterMeter(o.items.length + (o.doneBefore?.items ?? 0), record.jobs, o.doneBefore?.items ?? 0, o.doneBefore?.jobs ?? 0, Date.now());
    const states = new Map<number, ItemState<P, R>>(o.items.map((item) => [item.idx, { item, results: item.parts.map(() => undefined), missing: item.parts.length }]));
    const outstanding = new Set<string>(o.items.flatMap((item) => item.parts.map((payload, p) => jobIdOf(item.idx, p, payload))));
    const wake = new Wakeup();
    let fatal: QueueError | null = null;
    let head = 0;
    let reenqueued = 0;
    let foundDone = 0;
    let lastContact = Date.now();
    let firstSweep = true;
    let connectionLost = false;
    const seenRefusals = new Set<string>();
    let lastSweepAt = 0;
    let stop: () => void = noop;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const fail = (e: QueueError): void => {
      fatal ??= e;
      wake.fire();
      stop();
    };
    const onAbort = (): void => {
      wake.fire();
      stop();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (isAborted()) stop();
    const untilStopped = (p: Promise<void>): Promise<void> => Promise.race([p, stopped]);

    const jobsFor = (ids: readonly string[]) =>
      ids.flatMap((id) => {
        const at = parseJobId(id)!;
        const state = states.get(at.idx)!;
        const data: JobData<P> = { runId, identitySha, idx: at.idx, part: at.part, parts: state.item.parts.length, payload: state.item.parts[at.part]! };
        return [{ name: 'part' as const, data, opts: { jobId: id, attempts: t.attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false } }];
      });
    const enqueue = async (ids: readonly string[]): Promise<void> => {
      for (let i = 0; i < ids.length; i += 500) await queue.addBulk(jobsFor(ids.slice(i, i + 500)));
    };

    const receive = (jobId: string, raw: unknown): void => {
      const at = parseJobId(jobId);
      const state = at === null ? undefined : states.get(at.idx);
      if (at === null || state === undefined || state.results[at.part] !== undefined || jobIdOf(at.idx, at.part, state.item.parts[at.part]) !== jobId) return;
      const envelope = asPartResult(raw);
      const value = envelope === null ? null : o.parseResult(envelope.value, at.idx, at.part);
      if (envelope === null || value === null) {
        fail({
          kind: 'queue-bad-result',
          idx: at.idx,
          part: at.part,
          message: `a worker${envelope === null ? '' : ` (${envelope.worker})`} returned an unexpected result for image ${at.idx} (part ${at.part}); are all workers running the same densepure version as the coordinator?`,
        });
        return;
      }
      state.results[at.part] = { ...envelope, value };
      state.missing -= 1;
      outstanding.delete(jobId);
      meter.jobDone(envelope.worker, envelope.seconds, Date.now());
      wake.fire();
    };

    const reportRefusals = async (): Promise<void> => {
      for (const [worker, message] of Object.entries(await readRefusals(redis, runId))) {
        if (!seenRefusals.has(`${worker}\n${message}`)) {
          seenRefusals.add(`${worker}\n${message}`);
          o.onRefusal?.(worker, message);
        }
      }
    };

    /** Checks every outstanding job: results missed as events, jobs lost with Redis, final failures. */
    const sweep = async (): Promise<void> => {
      if ((await redis.exists(`${KEY_PREFIX}:run:${runId}`)) === 0) {
        if (!firstSweep) o.onNotice?.(`Redis at ${o.connection.url} lost this run's state (restarted without persistence?): registering it again and re-enqueueing the missing jobs`);
        await registerRun(redis, record);
      } else if (firstSweep) {
        await registerRun(redis, record);
      }
      const ids = [...outstanding];
      const missing: string[] = [];
      for (let i = 0; i < ids.length; i += 200) {
        const chunk = ids.slice(i, i + 200);
        const jobs = await Promise.all(chunk.map((id) => queue.getJob(id)));
        for (const [k, job] of jobs.entries()) {
          const id = chunk[k]!;
          if (job === undefined) {
            missing.push(id);
          } else if (job.finishedOn !== undefined && job.returnvalue !== null && job.returnvalue !== undefined) {
            if (firstSweep) foundDone += 1;
            receive(id, job.returnvalue);
          } else if (job.finishedOn !== undefined) {
            if (firstSweep) {
              await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
            } else {
              const at = parseJobId(id)!;
              const reason = job.failedReason ?? 'unknown';
              const which = `image ${at.idx} (part ${at.part + 1} of ${states.get(at.idx)?.item.parts.length ?? '?'})`;
              // A job a worker rejected (it does not fit its run: edited in Redis?) fails at once, uncomputed.
              const rejected = /^rejected: /.test(reason);
              fail({
                kind: 'queue-job-failed',
                idx: at.idx,
                part: at.part,
                reason,
                message: rejected ? `${which} was rejected by a worker: ${reason.replace(/^rejected: /, '')}; was the queue's data in Redis changed? Redis must be writable by the cluster alone` : `${which} failed on every attempt: ${reason}`,
              });
            }
          }
        }
      }
      if (missing.length > 0) {
        await enqueue(missing);
        if (!firstSweep) reenqueued += missing.length;
      }
      await reportRefusals();
      firstSweep = false;
      lastContact = Date.now();
    };

    /** Hands complete items to onItem in order, then frees their jobs in Redis. */
    const flush = async (): Promise<void> => {
      while (fatal === null && head < o.items.length) {
        const item = o.items[head]!;
        const state = states.get(item.idx)!;
        if (state.missing > 0) return;
        try {
          await o.onItem(item.idx, state.results as PartResult<R>[]);
        } catch (cause) {
          fail({ kind: 'queue-consumer-failed', idx: item.idx, cause, message: `writing the result of image ${item.idx} failed: ${describeCause(cause)}` });
          return;
        }
        head += 1;
        states.delete(item.idx);
        meter.itemDone();
        o.onProgress?.(meter.snapshot(Date.now()));
        void Promise.all(item.parts.map((payload, p) => queue.remove(jobIdOf(item.idx, p, payload)))).catch(noop);
      }
    };

    const onLost = (): void => {
      if (!connectionLost) o.onNotice?.(`lost the connection to Redis at ${o.connection.url}; reconnecting (giving up after ${Math.round(t.outageMs / 1000)} s)`);
      connectionLost = true;
    };
    redis.on('reconnecting', onLost);
    redis.on('ready', () => {
      if (connectionLost) o.onNotice?.(`reconnected to Redis at ${o.connection.url}`);
      connectionLost = false;
      lastSweepAt = 0; // sweep at once: Redis may have lost jobs
      wake.fire();
    });
    events.on('completed', ({ jobId, returnvalue }) => receive(jobId, returnvalue));
    events.on('failed', () => {
      lastSweepAt = 0; // a final failure or a retry: the sweep tells which
      wake.fire();
    });

    let leaseBusy = false;
    const watchdog = setInterval(() => {
      if (Date.now() - lastContact > t.outageMs) {
        fail({ kind: 'queue-lost', url: o.connection.url, message: `Redis at ${o.connection.url} has been unreachable for ${Math.round(t.outageMs / 1000)} s; the rows written so far stay: run the same command again to resume once Redis is back` });
      }
      if (!leaseBusy) {
        leaseBusy = true;
        extendLease(redis, runId, holder, t.leaseMs)
          .then((ours) => {
            lastContact = Date.now();
            if (!ours) fail({ kind: 'queue-run-busy', holder: 'another coordinator', message: `another coordinator took over this run on ${o.connection.url} while this one was cut off from Redis; this one stops (its rows are written)` });
          }, noop)
          .finally(() => {
            leaseBusy = false;
          });
      }
    }, Math.max(50, Math.min(1000, t.leaseMs / 3)));


    try {
      await untilStopped(events.waitUntilReady().then(noop));
      await untilStopped(enqueue([...outstanding]));
      while (fatal === null && !isAborted() && head < o.items.length) {
        // A sweep reads every outstanding job: space them out on big runs (events carry results meanwhile).
        const sweepEvery = Math.max(t.sweepMs, outstanding.size / 2);
        if (Date.now() - lastSweepAt >= sweepEvery) {
          await untilStopped(
            sweep().then(
              () => {
                lastSweepAt = Date.now();
              },
              (cause: unknown) => o.onNotice?.(`checking the queue failed (${describeCause(cause)}); retrying`),
            ),
          );
        }
        await flush();
        if (head < o.items.length) await wake.wait(Math.max(10, Math.max(t.sweepMs, outstanding.size / 2) - (Date.now() - lastSweepAt)));
      }
      await flush();
      if (fatal !== null) return E.left(fatal);
      const aborted = head < o.items.length;
      if (!aborted) {
        // The run is complete: close it (workers move on) and remove its queue with every job in it.
        await untilStopped(reportRefusals().catch(noop));
        await untilStopped(closeRun(redis, runId).then(() => queue.obliterate({ force: true })).catch(noop));
      }
      return E.right({ runId, items: head, reenqueued, foundDone, aborted });
    } catch (cause) {
      return E.left(fatal ?? { kind: 'queue-lost', url: o.connection.url, message: `the queue at ${o.connection.url} failed: ${describeCause(cause)}` });
    } finally {
      clearInterval(watchdog);
      o.signal?.removeEventListener('abort', onAbort);
      await settlesWithin(releaseLease(redis, runId, holder), 1000);
      await settlesWithin(Promise.all([events.close(), queue.close()]), 2000);
      redis.disconnect();
    }
  };
}
