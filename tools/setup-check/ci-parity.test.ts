// CI runs what `.ci/run` runs, the one script that prepares a machine (redis-server, torch and onnx, Mesa's EGL for
// the tests that need them) and runs the README's test command: the workflow calls it instead of a copy that drifts.
import { accessSync, constants, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const workflow = readFileSync(join(root, '.github/workflows/ci.yml'), 'utf8');
const script = readFileSync(join(root, '.ci/run'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The `run:` commands of a workflow (one line each, or the lines of a `run: |` block). */
function runCommands(yaml: string): string[] {
  const lines = yaml.split('\n');
  const commands: string[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)(?:-\s+)?run:\s*(.*)$/.exec(line);
    if (m === null) return;
    if (!/^[|>]/.test(m[2]!)) return void commands.push(m[2]!.trim());
    const indent = m[1]!.length;
    for (let j = i + 1; j < lines.length && (lines[j]!.trim() === '' || lines[j]!.search(/\S/) > indent); j++) if (lines[j]!.trim() !== '') commands.push(lines[j]!.trim());
  });
  return commands;
}

describe('CI runs what .ci/run runs', () => {
  it('the workflow runs .ci/run, and no install or test command of its own', () => {
    const commands = runCommands(workflow);
    expect(commands).toContain('.ci/run');
    expect(commands.filter((c) => /\bpnpm\s+(install|test|i)\b|\bturbo\b|\bvitest\b/.test(c))).toEqual([]);
  });

  it(".ci/run is executable, installs the tests' system packages (with sudo when not root) and ends with the README's test command", () => {
    expect(() => accessSync(join(root, '.ci/run'), constants.X_OK)).not.toThrow();
    for (const pkg of ['redis-server', 'python3-torch', 'python3-onnx', 'libegl-dev', 'libegl-mesa0', 'libgl1-mesa-dri', 'chromium']) expect(script).toContain(pkg);
    expect(script).toMatch(/sudo/);
    const testCommand = /^pnpm install --frozen-lockfile && pnpm test$/m.exec(readme)?.[0];
    expect(testCommand, "the README's test command").toBeDefined();
    const last = script.trim().split('\n').filter((l) => !l.trim().startsWith('#')).pop();
    expect(last).toBe(testCommand);
  });
});
