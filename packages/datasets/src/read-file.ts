// Reading dataset files from disk (node only); the parsers beside it work on bytes and run anywhere.
import { either as E } from 'fp-ts';
import { readLocalFile } from '@densepure/backend';
import { parseDpds } from './dpds.js';
import { type Dataset, type DatasetError, notFound } from './types.js';

/**
 * Reads a dataset file whole, the way every command reads a file (regular files only: a FIFO is refused at once,
 * a device never read); a missing one is `not-found`, anything else `unreadable`.
 */
export async function readDatasetFile(path: string, what: string): Promise<E.Either<DatasetError, Uint8Array>> {
  const read = await readLocalFile(path, { what });
  if (E.isRight(read)) return read;
  return E.left(read.left.kind === 'file-missing' ? notFound(path, what) : { kind: 'unreadable', path, message: read.left.message });
}

export async function readDpds(path: string, classNames?: readonly string[]): Promise<E.Either<DatasetError, Dataset>> {
  const bytes = await readDatasetFile(path, 'dataset file');
  return E.isLeft(bytes) ? bytes : parseDpds(bytes.right, path, classNames);
}
