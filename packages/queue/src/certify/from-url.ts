// What an app needs to put a certify run on a queue: an address -> a checked connection -> a scheduler that logs
// the cluster's progress.
import { either as E, taskEither as TE } from 'fp-ts';
import type { ImageScheduler } from '@densepure/runner';
import { parseQueueUrl, probeRedis } from '../connection.js';
import type { QueueError } from '../errors.js';
import type { QueueTuning } from '../jobs.js';
import { formatClusterProgress } from '../progress.js';
import { queueScheduler } from './coordinator.js';

export interface QueueSchedulerSettings {
  /** Progress and notices (default: nowhere). */
  readonly log?: (line: string) => void;
  /** Workers' refusals (default: log). */
  readonly warn?: (line: string) => void;
  readonly maxDrawsPerJob?: number;
  readonly tuning?: Partial<QueueTuning>;
  readonly signal?: AbortSignal;
}

/** A checked queue and the scheduler that sends a run's images to it. */
export interface QueuedScheduler {
  /** The address as normalised (password hidden). */
  readonly url: string;
  readonly scheduler: ImageScheduler<QueueError>;
}

/**
 * Parses a redis:// address and checks that Redis answers (a clear error within seconds, before any model is
 * opened), then returns the scheduler for runCertify.
 */
export function queueSchedulerFromUrl(url: string, s: QueueSchedulerSettings = {}): TE.TaskEither<QueueError, QueuedScheduler> {
  return async () => {
    const connection = parseQueueUrl(url);
    if (E.isLeft(connection)) return connection;
    const reachable = await probeRedis(connection.right, s.tuning?.connectTimeoutMs)();
    if (E.isLeft(reachable)) return reachable;
    const log = s.log ?? (() => undefined);
    const warn = s.warn ?? log;
    return E.right({
      url: connection.right.url,
      scheduler: queueScheduler({
        connection: connection.right,
        onProgress: (p) => log(formatClusterProgress(p)),
        onRefusal: (_worker, message) => warn(`warning: ${message}`),
        onNotice: log,
        ...(s.maxDrawsPerJob === undefined ? {} : { maxDrawsPerJob: s.maxDrawsPerJob }),
        ...(s.tuning === undefined ? {} : { tuning: s.tuning }),
        ...(s.signal === undefined ? {} : { signal: s.signal }),
      }),
    });
  };
}

const QUEUE_KINDS: ReadonlySet<string> = new Set<QueueError['kind']>([
  'queue-url-invalid',
  'queue-unreachable',
  'queue-lost',
  'queue-run-busy',
  'queue-job-failed',
  'queue-bad-result',
  'queue-consumer-failed',
  'queue-interrupted',
  'queue-bad-setting',
]);

export const isQueueError = (e: unknown): e is QueueError =>
  typeof e === 'object' && e !== null && QUEUE_KINDS.has((e as { readonly kind?: unknown }).kind as string);

