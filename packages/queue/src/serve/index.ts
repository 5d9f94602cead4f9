export { type DrawsDispatcher, type DrawsDispatcherOptions, type DrawsFailure, openDrawsDispatcher } from './dispatcher.js';
export { type CheckedDrawsPart, type DrawsAnswer, type DrawsLimits, type DrawsPart, type ServeRunSpec, checkDrawsPart, isServeRunSpec, parseDrawsAnswer, serveIdentity } from './protocol.js';
export { DEFAULT_DRAW_JOBS_AT_ONCE, type ServeWorkerSettings, prepareServeRun } from './worker.js';
