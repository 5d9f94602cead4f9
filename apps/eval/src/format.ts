// Small formatting and file helpers shared by the commands.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/** Python's repr of a float (what print() shows for a numpy float64): 1 -> '1.0', 1e-6 -> '1e-06'. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const s = String(x);
  const exp = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
  if (exp !== null) return `${exp[1]}e${exp[2]}${exp[3]!.padStart(2, '0')}`;
  return Number.isInteger(x) ? `${s}.0` : s;
}

/** Writes through a temp file in the same folder and a rename: a reader never sees half a file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** Parses '0,0.25,0.5' into radii (each a finite number >= 0); throws a message naming the bad entry. */
export function parseRadii(text: string, flag = '--radii'): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) throw new Error(`${flag} must be a comma-separated list of radii >= 0, got '${text}'`);
  return parts.map((p) => {
    const r = Number(p);
    if (p === '' || !Number.isFinite(r) || r < 0) throw new Error(`${flag}: '${p}' is not a radius (a number >= 0); give e.g. 0,0.25,0.5,0.75,1`);
    return r;
  });
}
