// readLocalFile: the one way commands read a whole local file. A FIFO is refused at once (no writer is waited
// for), a device is never read, a folder is named, and a size limit is checked before a byte is read.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, describe, expect, it } from 'vitest';
import { readLocalFile, readLocalText } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-local-file-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const kindOf = async (path: string, maxBytes?: number): Promise<string> => {
  const r = await readLocalFile(path, { what: 'test file', ...(maxBytes === undefined ? {} : { maxBytes }) });
  return E.isLeft(r) ? r.left.kind : 'read';
};

describe('readLocalFile', () => {
  it('reads a regular file whole, and as text', async () => {
    writeFileSync(join(work, 'a.txt'), 'cat\ndog\n');
    expect(await readLocalText(join(work, 'a.txt'), { what: 'class list' })).toEqual(E.right('cat\ndog\n'));
  });

  it('refuses a FIFO at once, without waiting for a writer', async () => {
    const fifo = join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const r = await readLocalFile(fifo, { what: 'dataset file' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(E.isLeft(r) && r.left.message).toMatch(/^the dataset file .*fifo is not a regular file \(it is a FIFO\); name the file itself$/);
  });

  it('refuses a symlink to /dev/zero without reading it, and a folder', async () => {
    symlinkSync('/dev/zero', join(work, 'zero.onnx'));
    expect(await kindOf(join(work, 'zero.onnx'))).toBe('not-a-regular-file');
    mkdirSync(join(work, 'dir'));
    expect(await kindOf(join(work, 'dir'))).toBe('not-a-regular-file');
  });

  it('refuses a file over the limit before reading it, naming both sizes', async () => {
    writeFileSync(join(work, 'big.bin'), new Uint8Array(100));
    const r = await readLocalFile(join(work, 'big.bin'), { what: 'class list', maxBytes: 10, limitReason: 'a class list is small' });
    expect(E.isLeft(r) && r.left.message).toMatch(/has 100 bytes, more than the 10 read at most \(a class list is small\)$/);
    const checked = await readLocalFile(join(work, 'big.bin'), { what: 'model file', checkSize: (size) => (size === 99 ? null : { kind: 'mine', size }) });
    expect(checked).toEqual(E.left({ kind: 'mine', size: 100 }));
  });

  it('names a missing file', async () => {
    expect(await kindOf(join(work, 'nope'))).toBe('file-missing');
  });
});
