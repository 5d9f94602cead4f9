// A pool worker that dies before it answers the load request.
import process from 'node:process';
import { parentPort } from 'node:worker_threads';

parentPort.on('message', () => process.exit(3));
