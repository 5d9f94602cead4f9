// The HTTP face: the Open Inference Protocol's endpoints (KServe V2) over the served models, validated by zod
// schemas that also make the OpenAPI document, with a bearer token, a body limit and `{ error }` for every failure.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { either as E } from 'fp-ts';
import { METHOD_KINDS, methodSlug } from '@densepure/runner';
import type { Certificate, ServedModel } from './certifier.js';
import { STATUS, type ServeError } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import { type CertificateParameters, type InferOutput, type InferResponse, OUTPUT_NAMES } from './protocol.js';
import { type CertifyJob, type ServeLimits, checkRequest } from './request.js';

/** Where the server writes its structured log lines (pino's shape: an object, then a message). */
export interface ServeLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const silentLog: ServeLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** What the app serves right now: nothing while loading, the models once they answered a warm-up, nothing new while stopping. */
export interface ServeState {
  readonly phase: 'loading' | 'ready' | 'stopping';
  readonly models: ReadonlyMap<string, ServedModel>;
}

export interface AppOptions {
  readonly state: () => ServeState;
  readonly limits: ServeLimits;
  readonly metrics: ServeMetrics;
  /** Requests to /v2/models/* and /metrics need `Authorization: Bearer <token>`; health and server metadata stay open. */
  readonly token?: string;
  /** Largest request body in bytes. */
  readonly maxBodyBytes: number;
  readonly log?: ServeLog;
  readonly version: string;
  /** A seed for a request that gives none (default: a random 32-bit one). */
  readonly freshSeed?: () => number;
}

const Parameter = z.union([z.string().max(1024), z.number(), z.boolean()]);
const ParametersSchema = z.record(z.string().max(64), Parameter);
const ErrorSchema = z.object({ error: z.string() }).openapi('Error');

const InferRequestSchema = z
  .object({
    id: z.string().max(256).optional(),
    parameters: ParametersSchema.optional().openapi({
      description:
        'Certify settings, all optional: method (a kind of the method table) and its settings by name (K, steps, spacing, purification, m, sigmaL, localVote), sigma, radii ("0.25,0.5,1") or max_radius (sequential certification; without either: PREDICT), mode (sequential | fixed | predict), alpha, n0, n (estimation draws or their cap), seed and index (the noise stream: the same seed and dataset index give the certificate densepure certify writes), deadline_ms.',
      example: { method: 'dds', sigma: 0.5, max_radius: 1, alpha: 0.001, seed: 0, index: 0 },
    }),
    inputs: z
      .array(
        z.object({
          name: z.string().max(256),
          shape: z.array(z.number().int().min(0)).max(8),
          datatype: z.string().max(16),
          data: z.array(z.number()).openapi({ description: 'The pixels in [0, 1], flattened row-major (C, H, W)' }),
          parameters: ParametersSchema.optional(),
        }),
      )
      .max(16),
    outputs: z.array(z.object({ name: z.string().max(64), parameters: ParametersSchema.optional() })).max(16).optional(),
  })
  .openapi('InferRequest');

const OutputSchema = z.object({ name: z.string(), shape: z.array(z.number()), datatype: z.string(), data: z.array(z.number()) });
const InferResponseSchema = z
  .object({
    model_name: z.string(),
    id: z.string().optional(),
    parameters: z.record(z.string(), Parameter).openapi({ description: 'The certificate: method, mode, label (-1: abstain), abstain, radius, sigma, alpha, seed, index, n0, n, radii, draws_selection, draws_estimation, evaluations_denoiser, evaluations_classifier, stop, p_a_lower, p_value, seconds' }),
    outputs: z.array(OutputSchema),
  })
  .openapi('InferResponse');

const ModelParam = z.object({ model: z.string().max(256).openapi({ param: { name: 'model', in: 'path' }, example: 'default' }) });

const errors = (...codes: (400 | 401 | 404 | 413 | 429 | 500 | 503 | 504)[]) =>
  Object.fromEntries(codes.map((code) => [code, { content: { 'application/json': { schema: ErrorSchema } }, description: errorMeaning[code] }]));
const errorMeaning: Record<number, string> = {
  400: 'A malformed request, a wrong tensor or a setting outside the caps: the error says which',
  401: 'A missing or wrong bearer token',
  404: 'No such model',
  413: 'Body too large',
  429: 'Queue full: retry after Retry-After seconds',
  500: 'A model call failed (the server stays up)',
  503: 'Not ready (loading) or shutting down',
  504: "The request's deadline passed",
};
const ok = (description: string, schema: z.ZodType) => ({ 200: { content: { 'application/json': { schema } }, description } });

const HealthSchema = z.object({ live: z.boolean().optional(), ready: z.boolean().optional() });

/** Constant-time comparison of a presented token with the server's (hashes first: equal lengths). */
const sameToken = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

function outputsOf(certificate: Certificate): InferOutput[] {
  return [
    { name: 'label', shape: [1], datatype: 'INT64', data: [certificate.label] },
    { name: 'radius', shape: [1], datatype: 'FP64', data: [certificate.radius ?? 0] },
    { name: 'draws', shape: [2], datatype: 'INT64', data: [certificate.draws.selection, certificate.draws.estimation] },
    { name: 'evaluations', shape: [2], datatype: 'INT64', data: [certificate.evaluations.denoiser, certificate.evaluations.classifier] },
  ];
}

function parametersOf(job: CertifyJob, c: Certificate): CertificateParameters {
  return {
    method: methodSlug(job.method),
    mode: job.mode.kind,
    label: c.label,
    abstain: c.label === -1,
    ...(c.radius === undefined ? {} : { radius: c.radius }),
    sigma: job.sigma,
    alpha: job.alpha,
    seed: job.seed,
    index: job.index,
    n0: job.mode.kind === 'predict' ? 0 : job.n0,
    n: job.n,
    ...(job.mode.kind === 'sequential' ? { radii: job.mode.radii.join(',') } : {}),
    draws_selection: c.draws.selection,
    draws_estimation: c.draws.estimation,
    evaluations_denoiser: c.evaluations.denoiser,
    evaluations_classifier: c.evaluations.classifier,
    ...(c.stop === undefined ? {} : { stop: c.stop }),
    ...(c.pALower === undefined ? {} : { p_a_lower: c.pALower }),
    ...(c.pValue === undefined ? {} : { p_value: c.pValue }),
    seconds: c.seconds,
  };
}

const randomSeed = (): number => randomBytes(4).readUInt32LE(0);

export function createServeApp(options: AppOptions): OpenAPIHono {
  const { state, limits, metrics, token, log = silentLog, freshSeed = randomSeed } = options;
  // Typed `never` so a route's handler may return it beside its typed 200 body (the error statuses are documented per route).
  const fail = (c: Context, error: ServeError): never => {
    if (error.kind === 'busy' || (error.kind === 'unavailable' && error.retryAfter !== undefined)) c.header('Retry-After', String(error.retryAfter));
    return c.json({ error: error.message }, STATUS[error.kind]) as never;
  };
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (result.success) return undefined;
      const issue = result.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? 'request body' : issue.path.join('.');
      return c.json({ error: `${where}: ${issue?.message ?? 'invalid'}; see the InferRequest schema in /openapi.json` }, 400);
    },
  });

  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      const text =
        error.status === 415
          ? 'send the body as JSON, with Content-Type: application/json'
          : error.message.includes('Malformed JSON')
            ? 'the body is not valid JSON: send a JSON InferRequest'
            : error.message;
      return c.json({ error: text }, error.status);
    }
    log.error({ err: error.message, path: c.req.path }, 'unexpected error');
    return c.json({ error: `internal error: ${error.message}` }, 500);
  });
  app.notFound((c) => c.json({ error: `no endpoint ${c.req.method} ${c.req.path}: see /openapi.json for the endpoints` }, 404));

  const auth: MiddlewareHandler = async (c, next) => {
    if (token === undefined) return next();
    const header = c.req.header('authorization') ?? '';
    const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (given === undefined || !sameToken(given, token)) {
      c.header('WWW-Authenticate', 'Bearer');
      return fail(c, { kind: 'unauthorized', message: given === undefined ? 'this server needs a token: send Authorization: Bearer <token>' : 'the bearer token is wrong' });
    }
    return next();
  };
  app.use('/v2/models/*', auth);
  app.use('/metrics', auth);
  app.use(
    '/v2/models/:model/infer',
    bodyLimit({ maxSize: options.maxBodyBytes, onError: (c) => fail(c, { kind: 'too-large', message: `the request body is larger than this server's limit of ${options.maxBodyBytes} bytes: send one image per request` }) }),
  );

  const modelOf = (name: string): E.Either<ServeError, ServedModel> => {
    const s = state();
    if (s.phase === 'loading') return E.left({ kind: 'unavailable', message: 'the server is loading its models: retry shortly', retryAfter: 1 });
    if (s.phase === 'stopping') return E.left({ kind: 'unavailable', message: 'the server is shutting down: send the request again (to another replica)' });
    const model = s.models.get(name);
    return model === undefined ? E.left({ kind: 'not-found', message: `no model '${name}': this server serves ${[...s.models.keys()].join(', ')}` }) : E.right(model);
  };

  app.openapi(createRoute({ method: 'get', path: '/v2/health/live', responses: ok('The process answers', HealthSchema) }), (c) => c.json({ live: true }, 200));
  app.openapi(createRoute({ method: 'get', path: '/v2/health/ready', responses: { ...ok('Models loaded and warmed up', HealthSchema), ...errors(503) } }), (c) =>
    state().phase === 'ready' ? c.json({ ready: true }, 200) : fail(c, { kind: 'unavailable', message: state().phase === 'loading' ? 'loading the models' : 'shutting down' }),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v2',
      responses: ok('Server metadata', z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })),
    }),
    (c) => c.json({ name: 'densepure', version: options.version, extensions: [] as string[] }, 200),
  );
  app.openapi(createRoute({ method: 'get', path: '/v2/models/{model}/ready', request: { params: ModelParam }, responses: { ...ok('The model is ready', HealthSchema), ...errors(401, 404, 503) } }), (c) => {
    const model = modelOf(c.req.valid('param').model);
    return E.isLeft(model) ? fail(c, model.left) : c.json({ ready: true }, 200);
  });
  const tensorMeta = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v2/models/{model}',
      request: { params: ModelParam },
      responses: {
        ...ok('Model metadata: inputs, outputs, methods, defaults and caps', z.object({ name: z.string(), platform: z.string(), inputs: z.array(tensorMeta), outputs: z.array(tensorMeta), parameters: z.record(z.string(), z.unknown()) })),
        ...errors(401, 404, 503),
      },
    }),
    (c) => {
      const got = modelOf(c.req.valid('param').model);
      if (E.isLeft(got)) return fail(c, got.left);
      const m = got.right;
      const d = m.defaults;
      return c.json(
        {
          name: m.name,
          platform: 'densepure',
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, ...m.input.shape] }],
          outputs: [
            { name: 'label', datatype: 'INT64', shape: [1] },
            { name: 'radius', datatype: 'FP64', shape: [1] },
            { name: 'draws', datatype: 'INT64', shape: [2] },
            { name: 'evaluations', datatype: 'INT64', shape: [2] },
          ],
          parameters: {
            classes: m.classNames,
            methods: METHOD_KINDS.filter((k) => m.input.hasDenoiser || k === 'smoothing'),
            defaults: { method: methodSlug(d.method), sigma: d.sigma, n0: d.n0, n: d.n, alpha: d.alpha, seed: d.seed ?? 'fresh per request' },
            limits,
            models: m.loaded,
          },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v2/models/{model}/infer',
      request: { params: ModelParam, body: { content: { 'application/json': { schema: InferRequestSchema } }, required: true } },
      responses: { ...ok('The certificate (or PREDICT answer) and what it cost', InferResponseSchema), ...errors(400, 401, 404, 413, 429, 500, 503, 504) },
    }),
    async (c) => {
      const arrived = performance.now();
      const name = c.req.valid('param').model;
      const body = c.req.valid('json');
      const answer = (error: ServeError) => {
        metrics.requests.inc({ model: name, code: String(STATUS[error.kind]) });
        const fields = { model: name, id: body.id, status: STATUS[error.kind], error: error.message };
        if (error.kind === 'model-failure') log.error(fields, 'model failure');
        else log.info(fields, 'refused');
        return fail(c, error);
      };
      const got = modelOf(name);
      if (E.isLeft(got)) return answer(got.left);
      const model = got.right;
      const unknownOutput = body.outputs?.find((o) => !(OUTPUT_NAMES as readonly string[]).includes(o.name));
      if (unknownOutput !== undefined) return answer({ kind: 'bad-input', message: `no output '${unknownOutput.name}': the outputs are ${OUTPUT_NAMES.join(', ')}` });
      const job = checkRequest(body, model.defaults, model.input, limits, freshSeed);
      if (E.isLeft(job)) return answer(job.left);
      const certified = await model.certify(job.right, arrived);
      if (E.isLeft(certified)) return answer(certified.left);
      const certificate = certified.right;
      const seconds = (performance.now() - arrived) / 1000;
      metrics.requests.inc({ model: name, code: '200' });
      metrics.latency.observe({ model: name, mode: job.right.mode.kind }, seconds);
      metrics.draws.inc({ model: name, phase: 'selection' }, certificate.draws.selection);
      metrics.draws.inc({ model: name, phase: 'estimation' }, certificate.draws.estimation);
      metrics.evaluations.inc({ model: name, network: 'denoiser' }, certificate.evaluations.denoiser);
      metrics.evaluations.inc({ model: name, network: 'classifier' }, certificate.evaluations.classifier);
      const parameters = parametersOf(job.right, certificate);
      log.info({ model: name, id: body.id, status: 200, seconds, label: parameters.label, radius: parameters.radius, draws: parameters.draws_selection + parameters.draws_estimation }, 'certified');
      const wanted = body.outputs?.map((o) => o.name);
      const response: InferResponse = {
        model_name: name,
        ...(body.id === undefined ? {} : { id: body.id }),
        parameters,
        outputs: outputsOf(certificate).filter((o) => wanted === undefined || wanted.includes(o.name)),
      };
      return c.json(response as unknown as z.infer<typeof InferResponseSchema>, 200);
    },
  );

  app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }));
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'densepure serve',
      version: options.version,
      description:
        'Randomized-smoothing certificates over the Open Inference Protocol (KServe V2). Errors are { error } with a 4xx for the request and a 5xx for the server. With a token, /v2/models/* and /metrics need Authorization: Bearer <token>.',
    },
  });
  return app;
}
