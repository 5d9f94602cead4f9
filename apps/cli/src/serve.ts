// `densepure serve`: the composition root of the certificate server (@densepure/serve). Flags -> served model,
// caps and admission; the token from the environment (never argv, which other users can read); a pino log on
// stdout; SIGINT/SIGTERM stop it gracefully (in-flight requests finish within --grace).
import { type Command, Option } from 'commander';
import { either as E } from 'fp-ts';
import { pino } from 'pino';
import { type Failure, type Outcome, failureOf, runtimeFailure, shippedCatalog, stopOnSignals, usageFailure } from '@densepure/app-kit';
import { DEFAULT_ADMISSION, DEFAULT_LIMITS, DEFAULT_MAX_BODY_BYTES, type ServeLimits, type ServerOptions, startServer } from '@densepure/serve';
import { type MethodFlags, type ModelFlags, addMethodOptions, addModelOptions, flagOf, methodFromFlags, modelsFromFlags, parseNumber, parseWhole } from './flags.js';
import { VERSION } from './version.js';

export interface ServeFlags extends ModelFlags, MethodFlags {
  readonly host: string;
  readonly port: number;
  readonly name: string;
  readonly N0: number;
  readonly N: number;
  readonly alpha: number;
  readonly maxDraws: number;
  readonly minAlpha: number;
  readonly maxSigma: number;
  readonly maxRadii: number;
  readonly maxVotes: number;
  readonly deadline: number;
  readonly maxDeadline: number;
  readonly maxInFlight: number;
  readonly maxQueue: number;
  readonly maxBody: number;
  readonly grace: number;
  readonly tokenEnv: string;
  readonly logLevel: string;
  readonly queue?: string;
  readonly drawsPerJob: number;
}

export function addServeCommand(program: Command, action: (o: ServeFlags) => Promise<void>): void {
  const cmd = addMethodOptions(
    addModelOptions(
      program
        .command('serve')
        .description('certificates over HTTP (Open Inference Protocol / KServe V2): POST /v2/models/<name>/infer with one image; concurrent requests share model calls'),
    ),
  );
  cmd
    .option('--host <address>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port, logged)', parseWhole('--port', 0), 8080)
    .option('--name <name>', 'the model name in URLs', 'default')
    .option('--N0 <n>', 'default selection draws per request', parseWhole('--N0', 1), 100)
    .option('--N <n>', 'default estimation draws per request (sequential: the cap; PREDICT: its draws)', parseWhole('--N', 1), 1000)
    .option('--alpha <a>', 'default failure probability', parseNumber('--alpha'), 0.001)
    .option('--max-draws <n>', 'cap: most draws (N0 + N) a request may ask for', parseWhole('--max-draws', 1), DEFAULT_LIMITS.maxDraws)
    .option('--min-alpha <a>', 'cap: smallest alpha a request may ask for', parseNumber('--min-alpha'), DEFAULT_LIMITS.minAlpha)
    .option('--max-sigma <s>', 'cap: largest sigma a request may ask for', parseNumber('--max-sigma'), DEFAULT_LIMITS.maxSigma)
    .option('--max-radii <n>', 'cap: most radii in a request', parseWhole('--max-radii', 1), DEFAULT_LIMITS.maxRadii)
    .option('--max-votes <n>', 'cap: most votes per draw (K, m) a request may ask for', parseWhole('--max-votes', 1), DEFAULT_LIMITS.maxVotes)
    .option('--deadline <s>', 'seconds a request may take when it gives no deadline_ms (queueing included)', parseNumber('--deadline'), DEFAULT_LIMITS.defaultDeadlineMs / 1000)
    .option('--max-deadline <s>', 'cap: the largest deadline a request may give', parseNumber('--max-deadline'), DEFAULT_LIMITS.maxDeadlineMs / 1000)
    .option('--max-in-flight <n>', 'requests certified at once (their model calls are merged)', parseWhole('--max-in-flight', 1), DEFAULT_ADMISSION.maxInFlight)
    .option('--max-queue <n>', 'requests waiting for a slot; beyond: 429 with Retry-After', parseWhole('--max-queue', 0), DEFAULT_ADMISSION.maxQueue)
    .option('--max-body <bytes>', 'largest request body', parseWhole('--max-body', 1024), DEFAULT_MAX_BODY_BYTES)
    .option('--grace <s>', 'on SIGINT/SIGTERM: seconds the requests in flight get to finish (then 503)', parseNumber('--grace'), 30)
    .option('--token-env <name>', 'environment variable holding the bearer token; when it is set, /v2/models/* and /metrics need Authorization: Bearer <token>', 'DENSEPURE_SERVE_TOKEN')
    .option('--queue <url>', 'hand the draws to `densepure worker`s through this Redis (redis://HOST:6379/0) instead of computing them here')
    .option('--draws-per-job <n>', 'with --queue: most draws in one worker job (a larger round is split over workers)', parseWhole('--draws-per-job', 1), 256)
    .addOption(new Option('--log-level <level>', 'JSON log lines on stdout').choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'))
    .action(action);
}

const positive = (flag: string, value: number): Failure | null => (value > 0 && Number.isFinite(value) ? null : usageFailure(`${flag} must be a number > 0, got ${value}`));

/** The server's options from the flags: the default method is DDS (the shipped default) unless a flag names another. */
export function serverOptionsFromFlags(o: ServeFlags, argv: readonly string[], env: NodeJS.ProcessEnv): E.Either<Failure, Omit<ServerOptions, 'log'>> {
  const given = (flag: string): boolean => argv.some((a) => a === flag || a.startsWith(`${flag}=`));
  const chosen = o.method !== undefined || o.oneShot || o.denoiser === 'none';
  const method = methodFromFlags(chosen ? o : { ...o, method: 'dds' });
  if (E.isLeft(method)) return method;
  const problem =
    positive('--deadline', o.deadline) ??
    positive('--max-deadline', o.maxDeadline) ??
    positive('--grace', o.grace) ??
    positive('--max-sigma', o.maxSigma) ??
    (o.minAlpha > 0 && o.minAlpha < 1 ? null : usageFailure(`--min-alpha must be in (0, 1), got ${o.minAlpha}`)) ??
    (o.deadline <= o.maxDeadline ? null : usageFailure(`--deadline ${o.deadline} is above --max-deadline ${o.maxDeadline}: lower it or raise --max-deadline`)) ??
    (o.N0 + o.N <= o.maxDraws ? null : usageFailure(`--N0 + --N (${o.N0 + o.N}) is above --max-draws ${o.maxDraws}: the defaults must be within the caps`)) ??
    (o.alpha >= o.minAlpha && o.alpha < 1 ? null : usageFailure(`--alpha ${o.alpha} must be in [--min-alpha, 1) = [${o.minAlpha}, 1)`));
  if (problem !== null) return E.left(problem);
  const token = env[o.tokenEnv];
  if (token !== undefined && token.trim().length < 16) return E.left(usageFailure(`the token in ${o.tokenEnv} is shorter than 16 characters: use a long random one (e.g. openssl rand -hex 32)`));
  const limits: ServeLimits = {
    maxDraws: o.maxDraws,
    minAlpha: o.minAlpha,
    maxSigma: o.maxSigma,
    maxRadii: o.maxRadii,
    maxVotes: o.maxVotes,
    defaultDeadlineMs: Math.round(o.deadline * 1000),
    maxDeadlineMs: Math.round(o.maxDeadline * 1000),
  };
  return E.right({
    models: [
      {
        name: o.name,
        // A worker thread by default: model calls then leave the event loop free for health checks and new requests.
        models: { ...modelsFromFlags(o), workers: given('--workers') ? o.workers : 1 },
        dataset: o.dataset,
        batch: o.batch,
        ...(o.variance === undefined ? {} : { variance: o.variance as 'learned-range' }),
        ...(o.tStar === undefined ? {} : { timestepRule: o.tStar as 'nearest' }),
        defaults: { method: method.right, sigma: o.sigma, n0: o.N0, n: o.N, alpha: o.alpha, ...(given('--seed') ? { seed: o.seed } : {}) },
      },
    ],
    host: o.host,
    port: o.port,
    limits,
    admission: { maxInFlight: o.maxInFlight, maxQueue: o.maxQueue },
    ...(token === undefined ? {} : { token: token.trim() }),
    maxBodyBytes: o.maxBody,
    catalog: shippedCatalog,
    version: VERSION,
  });
}

export async function serveCommand(o: ServeFlags, argv: readonly string[]): Promise<Outcome> {
  const options = serverOptionsFromFlags(o, argv, process.env);
  if (E.isLeft(options)) return options;
  const log = pino({ level: o.logLevel, base: { app: 'densepure-serve' } });
  let served = options.right;
  if (o.queue !== undefined) {
    // Redis is checked before any model loads: a wrong address fails in seconds.
    const { remoteDrawsFromFlags } = await import('./queue.js');
    const remote = await remoteDrawsFromFlags({ queue: o.queue, drawsPerJob: o.drawsPerJob, warn: (line) => log.warn(line), info: (line) => log.info(line) });
    if (E.isLeft(remote)) return remote;
    served = { ...served, models: served.models.map((m) => ({ ...m, remote: remote.right })) };
  }
  const { result } = await stopOnSignals(
    async (stop): Promise<Outcome> => {
      let server;
      try {
        server = await startServer({ ...served, log });
      } catch (cause) {
        return E.left(runtimeFailure(`cannot listen on ${o.host}:${o.port}: ${cause instanceof Error ? cause.message : String(cause)}; choose another --port or --host`));
      }
      const stopped = new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
      const ready = await Promise.race([server.ready, stopped.then(() => null)]);
      if (ready !== null && E.isLeft(ready)) {
        await server.close(0);
        return E.left(ready.left.kind === 'remote-draws' ? runtimeFailure(ready.left.message) : failureOf(ready.left, flagOf));
      }
      await stopped;
      await server.close(o.grace * 1000);
      return E.right(undefined);
    },
    (signal) => log.info({ signal }, 'stopping (signal again to stop at once)'),
  );
  log.flush();
  return result;
}
