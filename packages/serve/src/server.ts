// A listening server: answers health at once, opens and warms up the models, then turns ready; `close` stops
// taking requests, lets those in flight finish within a grace period (then answers them 503) and frees the models.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { either as E } from 'fp-ts';
import type { Catalog, RunError } from '@densepure/runner';
import { type ServeLog, type ServeState, createServeApp, silentLog } from './app.js';
import { type ServedModel, type ServedModelSpec, openServedModel } from './certifier.js';
import { type ServeMetrics, createMetrics } from './metrics.js';
import { DEFAULT_LIMITS, type ServeLimits } from './request.js';
import type { AdmissionLimits } from './admission.js';
import type { RemoteOpenError } from './remote.js';

export interface ServerOptions {
  readonly models: readonly ServedModelSpec[];
  readonly host: string;
  /** 0: any free port (see `url`). */
  readonly port: number;
  readonly limits?: ServeLimits;
  readonly admission?: AdmissionLimits;
  readonly token?: string;
  readonly maxBodyBytes?: number;
  readonly catalog?: Catalog;
  readonly log?: ServeLog;
  readonly version: string;
  readonly metrics?: ServeMetrics;
}

/** Requests certified at once per model (their model calls merged) and requests waiting for a slot. */
export const DEFAULT_ADMISSION: AdmissionLimits = { maxInFlight: 64, maxQueue: 256 };

/** A body of one 3x224x224 image as JSON text fits (about 10 bytes a pixel); anything larger is refused unread. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface RunningServer {
  readonly url: string;
  /** Resolves once every model is loaded and warmed up (ready), or with why not. */
  readonly ready: Promise<E.Either<RunError | RemoteOpenError, void>>;
  /** Graceful stop: not ready, new and waiting requests 503, those in flight get `graceMs`, then everything closes. */
  close(graceMs: number): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? silentLog;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const admission = options.admission ?? DEFAULT_ADMISSION;
  const metrics = options.metrics ?? createMetrics();
  let state: ServeState = { phase: 'loading', models: new Map() };
  const app = createServeApp({
    state: () => state,
    limits,
    metrics,
    ...(options.token === undefined ? {} : { token: options.token }),
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    log,
    version: options.version,
  });
  const server = serve({ fetch: app.fetch, hostname: options.host, port: options.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  // A slow client cannot hold a connection open: headers within 10 s, the whole request within the largest deadline.
  if ('headersTimeout' in server) {
    server.headersTimeout = 10_000;
    server.requestTimeout = limits.maxDeadlineMs + 10_000;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url }, 'listening; loading models');

  const opened: ServedModel[] = [];
  const ready = (async (): Promise<E.Either<RunError | RemoteOpenError, void>> => {
    for (const spec of options.models) {
      const started = performance.now();
      const model = await openServedModel(spec, {
        ...(options.catalog === undefined ? {} : { catalog: options.catalog }),
        admission,
        limits,
        onDraws: (where, count) => metrics.drawsWhere.inc({ model: spec.name, where }, count),
        onQueue: (queued, inFlight) => {
          metrics.queued.set({ model: spec.name }, queued);
          metrics.inFlight.set({ model: spec.name }, inFlight);
        },
      })();
      if (E.isLeft(model)) return model;
      opened.push(model.right);
      log.info({ model: spec.name, seconds: (performance.now() - started) / 1000, loaded: model.right.loaded }, 'model loaded and warmed up');
    }
    if (state.phase === 'loading') state = { phase: 'ready', models: new Map(opened.map((m) => [m.name, m])) };
    log.info({ url, models: opened.map((m) => m.name) }, 'ready');
    return E.right(undefined);
  })();

  let closing: Promise<void> | null = null;
  const close = (graceMs: number): Promise<void> =>
    (closing ??= (async () => {
      state = { phase: 'stopping', models: state.models };
      log.info({ graceMs }, 'stopping: finishing the requests in flight');
      await ready;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(opened.map((m) => m.drain(graceMs)));
      // Answers of stopped requests are on their way: idle keep-alive connections may go now.
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
      if ('closeAllConnections' in server) server.closeAllConnections();
      await Promise.all(opened.map((m) => m.dispose()));
      log.info({}, 'stopped');
    })());
  return { url, ready, close };
}

