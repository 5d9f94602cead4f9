#!/usr/bin/env node
// `densepure-eval analyze | head`: a closed pipe ends the output quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// Ctrl-C or kill: the exit hooks remove the output locks of the cells in progress.
(await import('@densepure/app-kit')).exitOnSignals();

const argv = process.argv.slice(2);
// `analyze` reads one TSV: it loads neither commander nor the report's renderer (sharp, vega).
process.exitCode = argv[0] === 'analyze' ? (await import('./analyze.js')).analyzeMain(argv.slice(1)) : await (await import('./main.js')).main(argv);
