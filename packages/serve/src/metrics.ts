// Prometheus metrics of one server, in a registry of its own (two servers in one process never mix counts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServeMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'model' | 'code'>;
  readonly latency: Histogram<'model' | 'mode'>;
  readonly draws: Counter<'model' | 'phase'>;
  readonly drawsWhere: Counter<'model' | 'where'>;
  readonly evaluations: Counter<'model' | 'network'>;
  readonly queued: Gauge<'model'>;
  readonly inFlight: Gauge<'model'>;
}

export function createMetrics(options: { readonly processMetrics?: boolean } = {}): ServeMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'densepure_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'densepure_requests_total', help: 'Infer requests answered, by HTTP status code', labelNames: ['model', 'code'], registers }),
    latency: new Histogram({
      name: 'densepure_request_duration_seconds',
      help: 'Seconds from arrival to answer of infer requests that got a certificate, by mode',
      labelNames: ['model', 'mode'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    draws: new Counter({ name: 'densepure_draws_total', help: 'Noise draws spent on answered requests, by phase (selection, estimation)', labelNames: ['model', 'phase'], registers }),
    drawsWhere: new Counter({
      name: 'densepure_draws_computed_total',
      help: "Noise draws counted for requests, by where: 'local' (this process's models) or 'workers' (handed to queue workers)",
      labelNames: ['model', 'where'],
      registers,
    }),
    evaluations: new Counter({ name: 'densepure_evaluations_total', help: 'Model evaluations (rows) spent on answered requests, by network', labelNames: ['model', 'network'], registers }),
    queued: new Gauge({ name: 'densepure_queue_depth', help: 'Requests waiting for a certification slot', labelNames: ['model'], registers }),
    inFlight: new Gauge({ name: 'densepure_in_flight', help: 'Requests being certified (their model calls are merged)', labelNames: ['model'], registers }),
  };
}
