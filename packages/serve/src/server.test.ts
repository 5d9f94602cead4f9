// The server over real HTTP on the shipped MNIST models: the protocol's endpoints, every kind of bad request
// answered 4xx with `{ error }`, back-pressure, deadlines, a failing model (500, and the server goes on), and a
// graceful stop. The models load through a registered backend that passes calls to onnx until told to fail.
import { either as E, taskEither as TE } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type Denoiser, getBackend, registerBackend, runtimeFailure } from '@densepure/backend';
import { registerInstalledBackends, shippedCatalog } from '@densepure/app-kit';
import type { Dataset } from '@densepure/datasets';
import { parseMethodSettings } from '@densepure/runner';
import { type DensepureClient, createClient } from './client.js';
import type { InferRequest } from './protocol.js';
import { type RunningServer, startServer } from './server.js';

const TOKEN = 'a-long-enough-test-token';
let failing = false;
let server: RunningServer;
let client: DensepureClient;
let dataset: Dataset;

/** onnx, whose denoiser fails while `failing` is set (a device that went away). */
async function registerFlaky(): Promise<void> {
  await registerInstalledBackends();
  const onnx = getBackend('onnx')!;
  const flaky: Backend = {
    ...onnx,
    name: 'flaky-onnx',
    priority: -100,
    loadDenoiser: (model, options) =>
      TE.map((d: Denoiser): Denoiser => ({ ...d, run: (x, t) => (failing ? TE.left(runtimeFailure('the device went away')) : d.run(x, t)) }))(onnx.loadDenoiser(model, options)),
  };
  registerBackend(flaky);
}

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v2/models/default/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers } });

const request = (idx: number, parameters: InferRequest['parameters'] = {}): InferRequest => ({
  parameters,
  inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(dataset.get(idx).image) }],
});

beforeAll(async () => {
  await registerFlaky();
  const opened = await shippedCatalog.dataset('default')();
  if (E.isLeft(opened)) throw new Error(opened.left.message);
  dataset = opened.right;
  const dds = parseMethodSettings('dds', {});
  if (E.isLeft(dds)) throw new Error(dds.left.message);
  server = await startServer({
    models: [{ name: 'default', models: { denoiser: 'default', classifier: 'default', backend: 'flaky-onnx', workers: 0 }, dataset: 'default', batch: 64, defaults: { method: dds.right, sigma: 0.5, n0: 20, n: 60, alpha: 0.01 } }],
    host: '127.0.0.1',
    port: 0,
    admission: { maxInFlight: 1, maxQueue: 1 },
    token: TOKEN,
    maxBodyBytes: 64 * 1024,
    catalog: shippedCatalog,
    version: 'test',
  });
  client = createClient({ url: server.url, token: TOKEN });
  expect(await client.live()).toBe(true);
  const ready = await server.ready;
  expect(ready).toEqual(E.right(undefined));
});
afterAll(() => server?.close(0));

describe('densepure serve over HTTP', () => {
  it('answers the protocol: health, server and model metadata, PREDICT, a certificate, metrics, the OpenAPI document', async () => {
    expect(await client.ready()).toBe(true);
    expect(await (await fetch(`${server.url}/v2`)).json()).toEqual({ name: 'densepure', version: 'test', extensions: [] });
    const meta = await client.metadata('default');
    expect(meta).toEqual(E.right(expect.objectContaining({ name: 'default', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 28, 28] }] })));
    const predicted = await client.infer('default', { ...request(0, { seed: 1 }), id: 'p1', outputs: [{ name: 'label' }] });
    expect(E.isRight(predicted)).toBe(true);
    if (E.isLeft(predicted)) return;
    expect(predicted.right).toMatchObject({ model_name: 'default', id: 'p1', parameters: { mode: 'predict', method: 'dds', seed: 1, draws_estimation: 60 } });
    expect(predicted.right.outputs.map((o) => o.name)).toEqual(['label']);
    const certified = await client.certify('default', { image: dataset.get(0).image, shape: [1, 28, 28], parameters: { radii: '0.25', seed: 1 } });
    expect(certified).toEqual(E.right(expect.objectContaining({ mode: 'sequential', radii: '0.25', label: dataset.get(0).label, abstain: false })));
    // Adaptive selection: at most N0 = 20 selection draws, fewer once the top class is a clear majority.
    expect(E.isRight(certified) && certified.right.draws_selection >= 1 && certified.right.draws_selection <= 20).toBe(true);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toMatch(/densepure_requests_total\{model="default",code="200"\} 2/);
    expect(metrics).toContain('densepure_draws_total');
    expect(metrics).toContain('densepure_queue_depth');
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v2/health/live', '/v2/health/ready', '/v2', '/v2/models/{model}', '/v2/models/{model}/ready', '/v2/models/{model}/infer']));
  });

  it('answers every bad request with a 4xx and an error saying what is wrong', async () => {
    const good = JSON.stringify(request(0));
    const cases: [string, Promise<Response>, number, string][] = [
      ['malformed JSON', post('{"inputs": ['), 400, 'not valid JSON'],
      ['no JSON content type', post(good, { 'content-type': 'text/plain' }), 415, 'application/json'],
      ['inputs not a list', post('{"inputs": 3}'), 400, 'inputs'],
      ['nested data', post(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 28, 28], datatype: 'FP32', data: [[0.5]] }] })), 400, 'inputs.0.data'],
      ['a string pixel', post(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 28, 28], datatype: 'FP32', data: ['0.5'] }] })), 400, 'inputs.0.data'],
      ['an infinite pixel', post(good.replace(/\[0(,|\])/, '[1e999$1')), 400, ''],
      ['a wrong shape', post(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3, 28, 28], datatype: 'FP32', data: [0.5] }] })), 400, 'shape must be [1, 1, 28, 28]'],
      ['a pixel out of range', post(JSON.stringify(request(0)).replace(/\[0(,|\])/, '[255$1')), 400, 'pixels must be finite numbers in [0, 1]'],
      ['a setting beyond the caps', post(JSON.stringify(request(0, { n: 10_000_000 }))), 400, 'parameter n must be a whole number in [1, 100000]'],
      ['an unknown output', post(JSON.stringify({ ...request(0), outputs: [{ name: 'logits' }] })), 400, "no output 'logits'"],
      ['an unknown model', fetch(`${server.url}/v2/models/resnet/infer`, { method: 'POST', body: good, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } }), 404, "no model 'resnet'"],
      ['no token', post(good, { authorization: '' }), 401, 'send Authorization: Bearer <token>'],
      ['a wrong token', post(good, { authorization: 'Bearer not-the-token' }), 401, 'the bearer token is wrong'],
      ['an oversized body', post(JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: new Array<number>(40_000).fill(0.5) }] })), 413, "larger than this server's limit of 65536 bytes"],
      ['an unknown endpoint', fetch(`${server.url}/v1/models`), 404, 'see /openapi.json'],
    ];
    for (const [what, response, status, text] of cases) {
      const got = await response;
      const body = (await got.json()) as { error?: unknown };
      expect({ what, status: got.status }).toEqual({ what, status });
      expect(typeof body.error, what).toBe('string');
      expect(body.error, what).toContain(text);
    }
    expect(await client.ready()).toBe(true);
  });

  it('turns requests away with 429 and Retry-After when the queue is full, and stops one at its deadline with 504', async () => {
    const gauge = async (name: string): Promise<number> => {
      const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      return Number(new RegExp(`^${name}\\{model="default"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    const until = async (name: string, value: number): Promise<void> => {
      for (let seen = await gauge(name), tries = 0; seen !== value; seen = await gauge(name), tries++) {
        if (tries > 3000) throw new Error(`${name} stayed ${seen}, not ${value}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    // One request certifying (a slot of one); of two more sent at once one waits (a queue of one), one is turned away.
    const slow = client.infer('default', request(1, { mode: 'fixed', n0: 20, n: 20_000, seed: 2, deadline_ms: 5000 }));
    await until('densepure_in_flight', 1);
    const [second, third] = await Promise.all([post(JSON.stringify(request(2))), post(JSON.stringify(request(3)))]);
    const refused = second.status === 429 ? second : third;
    expect([second.status, third.status].sort()).toEqual([200, 429]);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: string }).error).toContain('busy');
    // The slow one stopped at its deadline (20,000 draws take far longer here) and spent nothing more.
    expect(await slow).toEqual(E.left(expect.objectContaining({ status: 504, error: expect.stringContaining('deadline of 5000 ms passed') })));
    await until('densepure_in_flight', 0);
  });

  it('answers a model failure with a 500 naming it, and goes on serving', async () => {
    failing = true;
    const failed = await client.infer('default', request(4, { n: 20 }));
    failing = false;
    expect(failed).toEqual(E.left(expect.objectContaining({ status: 500, error: expect.stringContaining('the device went away') })));
    expect(E.isRight(await client.infer('default', request(4, { n: 20 })))).toBe(true);
  });

  it('stops gracefully: not ready, the request in flight is answered, later ones are refused', async () => {
    const inFlight = client.infer('default', request(5, { mode: 'fixed', n0: 20, n: 1000 }));
    await new Promise((r) => setTimeout(r, 50));
    const closed = server.close(0);
    const answer = await inFlight;
    expect(answer).toEqual(E.left(expect.objectContaining({ status: 503, error: expect.stringContaining('shutting down') })));
    await closed;
    expect(await client.live()).toBe(false);
  });
});
