// Which backends an app loads: each backend package registers itself on import (@densepure/backend's registry).
/** A backend package that could not be imported, and why. */
export interface BackendNote {
  readonly name: string;
  readonly note: string;
}

/** Imports every backend package that is installed; they register themselves. Missing optional ones are noted, not fatal. */
export async function registerInstalledBackends(): Promise<BackendNote[]> {
  const notes: BackendNote[] = [];
  await import('@densepure/backend-onnx');
  try {
    await import('@densepure/backend-tfjs' as string);
  } catch (cause) {
    notes.push({ name: 'tfjs', note: `@densepure/backend-tfjs not loadable: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}` });
  }
  return notes;
}
