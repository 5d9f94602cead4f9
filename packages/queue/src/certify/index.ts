export { type QueuedCertifyOptions, queueScheduler } from './coordinator.js';
export { type CertifyWorkerOptions, certifyWorker } from './worker.js';
export { type CertifyAnswer, type CertifyPart, type PartLimits, type WorkerSpec, parseCertifyAnswer, partProblem, queueIdentity, workerSpecOf } from './protocol.js';
export { type AllowanceOptions, type AllowedModel, type WorkerAllowance, allowanceOf, datasetRefusal, localModels } from './allowed.js';
export { type QueuedScheduler, type QueueSchedulerSettings, isQueueError, queueSchedulerFromUrl } from './from-url.js';
