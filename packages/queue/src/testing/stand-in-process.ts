// A stand-in coordinator or worker as its own process, for the kill tests: `node stand-in-process.js '<json>'`.
// Prints one JSON line per event on stdout; exits 0 when done, 1 with the error's message on stderr.
import { either as E } from 'fp-ts';
import { parseQueueUrl } from '../connection.js';
import type { QueueTuning } from '../jobs.js';
import { type StandInConfig, runStandInCoordinator, runStandInWorker } from './stand-in.js';

interface Args {
  readonly role: 'coordinator' | 'worker';
  readonly url: string;
  readonly config: StandInConfig;
  readonly indices?: readonly number[];
  readonly out?: string;
  readonly name?: string;
  readonly msPerJob?: number;
  readonly idleExitMs?: number;
  readonly own?: Partial<StandInConfig>;
  readonly tuning?: Partial<QueueTuning>;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const say = (event: unknown): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
process.on('SIGINT', () => stop.abort());

const connection = parseQueueUrl(args.url);
if (E.isLeft(connection)) {
  process.stderr.write(`${connection.left.message}\n`);
  process.exit(2);
}
const common = { connection: connection.right, signal: stop.signal, ...(args.tuning === undefined ? {} : { tuning: args.tuning }) };
const result =
  args.role === 'coordinator'
    ? await runStandInCoordinator({
        ...common,
        config: args.config,
        indices: args.indices ?? [],
        out: args.out ?? 'out.tsv',
        onRow: (row) => say({ kind: 'row', idx: row.idx }),
        onProgress: (p) => say({ kind: 'progress', itemsDone: p.itemsDone, jobsDone: p.jobsDone }),
        onRefusal: (worker, message) => say({ kind: 'refusal', worker, message }),
        onNotice: (message) => say({ kind: 'notice', message }),
      })()
    : await runStandInWorker({
        ...common,
        ...(args.name === undefined ? {} : { name: args.name }),
        ...(args.msPerJob === undefined ? {} : { msPerJob: args.msPerJob }),
        ...(args.idleExitMs === undefined ? {} : { idleExitMs: args.idleExitMs }),
        ...(args.own === undefined ? {} : { own: args.own }),
        onEvent: (e) => say(e),
      })();
if (E.isLeft(result)) {
  process.stderr.write(`${result.left.message}\n`);
  process.exit(1);
}
say({ kind: 'done', summary: result.right });
process.exit(0);
