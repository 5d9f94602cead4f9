// `--queue` and `densepure worker`: flags -> @densepure/queue options. Loaded only when a queue is named, so a
// plain certify never loads BullMQ.
import { either as E } from 'fp-ts';
import { type Failure, type Outcome, queueFailure, shippedCatalog, stopOnSignals, usageFailure } from '@densepure/app-kit';
import { getBackend, registeredBackends } from '@densepure/backend';
import type { ImageScheduler } from '@densepure/runner';
import type { QueueError } from '@densepure/queue';
import type { OpenRemoteDraws } from '@densepure/serve';

export interface QueueFlags {
  readonly queue: string;
  readonly maxDrawsPerJob?: number;
  /** Stops collecting (a signal): rows so far stay, the jobs stay queued, the lease is given back. */
  readonly signal?: AbortSignal;
}

/** The scheduler that sends a certify run's images to the queue; cluster progress and refusals on stderr. */
export async function queueSchedulerFromFlags(o: QueueFlags, progress: 'auto' | 'none'): Promise<E.Either<Failure, ImageScheduler<QueueError>>> {
  const q = await import('@densepure/queue');
  const log = (line: string): void => void (progress !== 'none' && process.stderr.write(`${line}\n`));
  const queued = await q.queueSchedulerFromUrl(o.queue, {
    log,
    warn: (line) => void process.stderr.write(`${line}\n`),
    ...(o.maxDrawsPerJob === undefined ? {} : { maxDrawsPerJob: o.maxDrawsPerJob }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  })();
  if (E.isLeft(queued)) return E.left(queueFailure(queued.left));
  log(`queue ${queued.right.url}: waiting for workers (start them with: densepure worker --queue ${queued.right.url})`);
  return E.right(queued.right.scheduler);
}

export interface WorkerFlags {
  readonly queue: string;
  readonly backend?: string;
  readonly device?: string;
  readonly threads?: number;
  readonly workers: number;
  readonly name?: string;
  readonly idleExit?: number;
  readonly models?: readonly string[];
  readonly data?: readonly string[];
  readonly stopGrace: number;
  readonly jobsAtOnce: number;
  readonly progress: 'auto' | 'none';
}

/** `densepure worker`: serves queued runs until stopped (SIGINT/SIGTERM: after the job in progress; twice: at once). */
export async function workerCommand(o: WorkerFlags): Promise<Outcome> {
  // A backend this process does not have would refuse every run: say so now instead of serving nothing.
  if (o.backend !== undefined && getBackend(o.backend) === undefined) {
    return E.left(usageFailure(`unknown --backend '${o.backend}': registered backends are ${registeredBackends().map((b) => b.name).join(', ')}`));
  }
  const q = await import('@densepure/queue');
  const connection = q.parseQueueUrl(o.queue);
  if (E.isLeft(connection)) return E.left(queueFailure(connection.left));
  const url = connection.right.url;
  const say = (line: string): void => {
    if (o.progress !== 'none') process.stderr.write(`${line}\n`);
  };
  // Certificate servers' runs (their jobs are draws of served requests, not images).
  const servers = new Set<string>();
  const { result: served } = await stopOnSignals(
    (stop) =>
      q.certifyWorker({
        connection: connection.right,
        signal: stop,
        workers: o.workers,
        jobsAtOnce: o.jobsAtOnce,
        catalog: shippedCatalog,
        ...(o.name === undefined ? {} : { name: o.name }),
        ...(o.backend === undefined ? {} : { backend: o.backend }),
        ...(o.device === undefined ? {} : { device: o.device }),
        ...(o.threads === undefined ? {} : { threads: o.threads }),
        ...(o.idleExit === undefined ? {} : { idleExitMs: o.idleExit * 1000 }),
        ...(o.models === undefined ? {} : { models: o.models }),
        ...(o.data === undefined ? {} : { data: o.data }),
        tuning: { stopGraceMs: o.stopGrace * 1000 },
        onEvent: (e) => {
          if (e.kind === 'refused') process.stderr.write(`warning: ${e.message}\n`);
          else if (e.kind === 'serving') {
            if (e.standing) servers.add(e.runId);
            say(e.standing ? `serving the draws of certificate server run ${e.runId}` : `serving run ${e.runId} (${e.jobs} jobs)`);
          } else if (e.kind === 'job-done') say(`${servers.has(e.runId) ? 'draws job' : 'image'} ${e.idx}${e.part > 0 ? ` part ${e.part}` : ''} done in ${e.seconds.toFixed(2)} s`);
          else if (e.kind === 'job-failed') process.stderr.write(`${servers.has(e.runId) ? 'draws job' : 'image'} ${e.idx} failed: ${e.message}\n`);
          else if (e.kind === 'run-closed') say(`run ${e.runId} finished`);
          else if (e.kind === 'job-abandoned') process.stderr.write(`gave up image ${e.idx}${e.part > 0 ? ` part ${e.part}` : ''} after ${e.seconds.toFixed(1)} s: its lock lapses and another worker takes it over\n`);
          else if (e.kind === 'run-orphaned') say(`run ${e.runId} has had no coordinator for ${e.seconds} s: leaving it until one collects it again`);
          else if (e.kind === 'connection-lost') say(`lost the connection to ${url}; reconnecting`);
          else if (e.kind === 'reconnected') say(`reconnected to ${url}`);
        },
      })(),
    () => process.stderr.write(`stopping after the job in progress, for at most ${o.stopGrace} s (signal again to stop at once)\n`),
  );
  if (E.isLeft(served)) return E.left(queueFailure(served.left));
  say(`worker ${served.right.name}: ${served.right.jobs} jobs in ${served.right.runs} runs`);
  // A job given up is still computing in this process: end it (what was printed is written; the job is another worker's now).
  if (served.right.abandoned > 0) process.exit(0);
  return E.right(undefined);
}

export interface ServeQueueFlags {
  readonly queue: string;
  readonly drawsPerJob: number;
  /** Workers' refusals and connection notices. */
  readonly warn: (line: string) => void;
  readonly info: (line: string) => void;
}

/**
 * `densepure serve --queue`: checks the address and that Redis answers (before any model loads), then returns
 * what opens the served model's standing run on the queue once its models are loaded (their sha256s are the run's).
 */
export async function remoteDrawsFromFlags(o: ServeQueueFlags): Promise<E.Either<Failure, OpenRemoteDraws>> {
  const q = await import('@densepure/queue');
  const connection = q.parseQueueUrl(o.queue);
  if (E.isLeft(connection)) return E.left(queueFailure(connection.left));
  const reachable = await q.probeRedis(connection.right)();
  if (E.isLeft(reachable)) return E.left(queueFailure(reachable.left));
  const url = connection.right.url;
  return E.right((context) => async () => {
    const spec = {
      purpose: 'serve' as const,
      shape: context.shape,
      numClasses: context.numClasses,
      batch: context.batch,
      backend: context.classifier.backend,
      ...(context.variance === undefined ? {} : { variance: context.variance }),
      ...(context.timestepRule === undefined ? {} : { timestepRule: context.timestepRule }),
      limits: { maxDraws: context.maxDraws, maxDrawsPerJob: o.drawsPerJob, maxVotes: context.maxVotes, maxSigma: context.maxSigma },
    };
    const opened = await q.openDrawsDispatcher({
      connection: connection.right,
      spec,
      identity: q.serveIdentity(spec, { denoiser: context.denoiser, classifier: context.classifier }),
      onRefusal: (_worker, message) => o.warn(message),
      onNotice: o.info,
    })();
    if (E.isLeft(opened)) return E.left({ kind: 'remote-draws', message: opened.left.message });
    const dispatcher = opened.right;
    o.info(`draws go to queue workers at ${url} (serve run ${dispatcher.runId}); start them with: densepure worker --queue ${url}`);
    return E.right({
      drawsPerJob: o.drawsPerJob,
      noWorkerHint: `start one with \`densepure worker --queue ${url}\` on a machine that has this server's models (--models DIR)`,
      count: (request, signal) => dispatcher.count(request, signal),
      refusals: () => dispatcher.refusals(),
      close: () => dispatcher.close(),
    });
  });
}
