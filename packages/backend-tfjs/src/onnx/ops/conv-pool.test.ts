import { describe, expect, it } from 'vitest';
import { maxAbsDiff, runOrt, runTfjs } from '../../ort.testutil.js';
import { bytesFor, describeOrtCases, feedsFor, outputsOf } from './cases.testutil.js';
import { CONV_POOL_CASES } from './conv-pool.cases.testutil.js';
import { TORCH_GROUP_NORM_CASES } from './torch-group-norm.cases.testutil.js';

describeOrtCases('conv-pool ops agree with onnxruntime', CONV_POOL_CASES);

describe('convolutions padded with tf.pad first (the path for backends other than wasm and cpu)', () => {
  for (const c of [...CONV_POOL_CASES, ...TORCH_GROUP_NORM_CASES].filter((k) => k.nodes.some((n) => n.op === 'Conv'))) {
    it(c.name, async () => {
      const bytes = bytesFor(c);
      const feeds = feedsFor(c, 2);
      const names = outputsOf(c).map((o) => o.name);
      const expected = await runOrt(bytes, feeds, names);
      const actual = await runTfjs(bytes, feeds, names, 'wasm', { convPadding: 'pad-first' });
      names.forEach((name, k) => expect(maxAbsDiff(actual[k]!, expected[k]!), name).toBeLessThanOrEqual(1e-4));
    });
  }
});
