import { type BackendError, formatBackendError } from '@densepure/backend';

/** An error the CLI reports as `error: <message>` with a non-zero exit (2 for bad usage, 1 otherwise). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string): CliError => new CliError(message, 2);

export const fromBackendError = (context: string, error: BackendError): CliError =>
  new CliError(`${context}: ${formatBackendError(error)}`);
