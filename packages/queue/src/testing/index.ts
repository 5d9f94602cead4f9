export { type TestRedis, freePort, startTestRedis } from './redis.js';
export {
  type StandInConfig,
  type StandInRow,
  type StandInCoordinatorOptions,
  type StandInWorkerOptions,
  formatStandInRow,
  readStandInRows,
  runStandInCoordinator,
  runStandInWorker,
  standInCounts,
  standInIdentity,
  standInReference,
} from './stand-in.js';
