// @densepure/serve: randomized-smoothing certificates over HTTP (Open Inference Protocol). `densepure serve`
// (apps/cli) composes it: backends, the shipped catalog, flags, signals and the log. See README.md.
export { type AppOptions, type ServeLog, type ServeState, createServeApp, silentLog } from './app.js';
export { Admission, type AdmissionLimits } from './admission.js';
export { type Certificate, type OpenOptions, type ServedModel, type ServedModelSpec, openServedModel } from './certifier.js';
export { STATUS, type ServeError } from './errors.js';
export { type ServeMetrics, createMetrics } from './metrics.js';
export * from './protocol.js';
export { type CertifyJob, DEFAULT_LIMITS, type ModelInput, type RequestDefaults, type ServeLimits, checkImage, checkParameters, checkRequest } from './request.js';
export { DEFAULT_ADMISSION, DEFAULT_MAX_BODY_BYTES, type RunningServer, type ServerOptions, startServer } from './server.js';
export { type DrawsWhere, type OpenRemoteDraws, type RemoteDrawRequest, type RemoteDraws, type RemoteDrawsContext, type RemoteDrawsFailure, type RemoteOpenError } from './remote.js';
