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
// Ctrl-C or kill: the exit hooks remove this run's output locks. A queue worker (after its job in progress) and
// a queue coordinator (giving back its lease) stop on their own terms instead: they take the first signal
// (app-kit's stopOnSignals); a second one ends the process.
exitOnSignals();
// The tfjs backend's webgpu device on Dawn's GL ES route: with no display, Mesa's EGL runs surfaceless (a value the
// user set wins).
process.env['EGL_PLATFORM'] ??= 'surfaceless';

process.exitCode = await main(process.argv.slice(2));
