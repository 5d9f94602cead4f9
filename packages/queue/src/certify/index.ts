export { type QueuedCertifyOptions, queueScheduler } from './coordinator.js';
export { type CertifyWorkerOptions, certifyWorker } from './worker.js';
export { type CertifyAnswer, type CertifyPart, type WorkerSpec, parseCertifyAnswer, queueIdentity, workerSpecOf } from './protocol.js';
export { type QueuedScheduler, type QueueSchedulerSettings, isQueueError, queueSchedulerFromUrl } from './from-url.js';
