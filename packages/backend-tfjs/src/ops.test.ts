// The op table: merged from the op families without duplicates, resolved by opset, listed in the README, and
// every op in it run against onnxruntime-node by some case (the cases themselves run in src/onnx/ops/*.test.ts).
import { readFileSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { OP_FAMILIES, OP_TABLE, SUPPORTED_OPS, compilerFor, describeSupportedOps, mergeOpFamilies, resolveOp } from './onnx/ops.js';
import { OP_CASES as CASES } from './onnx/ops/all.cases.testutil.js';
import { opsIn } from './onnx/ops/cases.testutil.js';
import type { OpEntry } from './onnx/ops/kernel.js';
import { TORCH_GROUP_NORM, torchGroupNorm } from './onnx/ops/torch-group-norm.js';

describe('the op table', () => {
  it('runs every supported op in at least one onnxruntime agreement case', () => {
    const covered = opsIn(Object.values(CASES).flat());
    expect(SUPPORTED_OPS.filter((op) => !covered.has(op))).toEqual([]);
  });

  it('has a case test file for every op family', () => {
    for (const family of [...Object.keys(OP_FAMILIES), 'torch-group-norm']) {
      expect(Object.keys(CASES)).toContain(family);
      const test = readFileSync(new URL(`./onnx/ops/${family}.test.ts`, import.meta.url), 'utf8');
      expect(test, family).toContain(`describeOrtCases(`);
    }
  });

  it('cases use only ops the table supports', () => {
    const unknown = [...opsIn(Object.values(CASES).flat())].filter((op) => !OP_TABLE.has(op));
    expect(unknown).toEqual([]);
  });

  it('is the union of the families, sorted', () => {
    const all = Object.values(OP_FAMILIES).flatMap((entries) => entries.map((e) => e.op));
    expect(SUPPORTED_OPS).toEqual([...all].sort());
    expect(OP_TABLE.get('Conv')?.family).toBe('conv-pool');
    expect(OP_TABLE.get('Where')?.family).toBe('elementwise');
  });

  it('refuses an op claimed twice, in two families or in one', () => {
    const add: OpEntry = { op: 'Add', compile: () => () => [] };
    const twice = mergeOpFamilies({ a: [add], b: [{ op: 'Mul', compile: add.compile }, add] });
    expect(E.isLeft(twice) && twice.left).toMatchObject({ kind: 'duplicate-op', op: 'Add', families: ['a', 'b'] });
    expect(E.isLeft(twice) && twice.left.message).toContain("op 'Add'");
    const inOne = mergeOpFamilies({ a: [add, add] });
    expect(E.isLeft(inOne) && inOne.left.families).toEqual(['a', 'a']);
    expect(E.isRight(mergeOpFamilies({ a: [add], b: [{ op: 'Mul', compile: add.compile }] }))).toBe(true);
  });

  it('resolves ops by opset where an implementation has a range', () => {
    expect(resolveOp('GroupNormalization', 17)).toBeUndefined();
    expect(resolveOp('GroupNormalization', 18)).toBeDefined();
    expect(resolveOp('GroupNormalization', 21)).toBeDefined();
    expect(resolveOp('Conv', 1)).toBeDefined();
    expect(resolveOp('Hardmax', 17)).toBeUndefined();
  });

  it("keeps the fused GroupNorm node out of the table: a model cannot name it, the fusion's nodes compile", () => {
    expect(resolveOp(TORCH_GROUP_NORM, 17)).toBeUndefined();
    expect(SUPPORTED_OPS).not.toContain(TORCH_GROUP_NORM);
    const node = { op: TORCH_GROUP_NORM, domain: '', name: 'gn', inputs: ['x'], outputs: ['y'], attrs: new Map() };
    expect(compilerFor(node, 17)).toBe(torchGroupNorm);
  });

  it('is listed in the README, opset ranges and limits included', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.split('### Supported ONNX ops (default domain)')[1]?.split('`SUPPORTED_OPS`')[0] ?? '';
    const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
    expect(squash(section)).toBe(squash(`${describeSupportedOps().join(', ')}.`));
  });
});
