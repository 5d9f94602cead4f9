#!/usr/bin/env node
import { exitOnSignals } from '@densepure/app-kit';
import { main } from './main.js';

// `densepure ... | head -1`: a closed pipe ends the process quietly, as Unix tools do (what was written stays written).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
// Ctrl-C or kill: the exit hooks remove this run's output locks. A queue worker holds no output and stops on
// its own terms instead (after the job in progress, so its result is not lost).
if (process.argv[2] !== 'worker') exitOnSignals();

process.exitCode = await main(process.argv.slice(2));
