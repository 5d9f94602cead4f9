/** Ctrl-C, kill or a closed terminal end the process with the shell's codes; the runner's exit hooks remove its output locks. */
export function exitOnSignals(): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) process.once(signal, () => process.exit(code));
}
