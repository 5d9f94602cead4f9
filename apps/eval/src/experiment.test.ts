import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { type Experiment, expandGrid, parseExperimentText } from './experiment.js';

const ok = (text: string, source = 'x.yaml'): Experiment => {
  const r = parseExperimentText(text, source);
  if (E.isLeft(r)) throw r.left;
  return r.right;
};
const fail = (text: string, source = 'x.yaml'): string => {
  const r = parseExperimentText(text, source);
  if (E.isRight(r)) throw new Error('expected an error');
  return r.left.message;
};

const base = `name: t\nmethods: [smoothing]\nsigmas: [0.5]\n`;

describe('experiment files', () => {
  it("reads DensePure's spacing into the cell id (-dp) and shareDraws, rejecting bad values by key", () => {
    const x = ok(`${base.replace('methods: [smoothing]', 'methods: [{ kind: densepure, K: [1, 10], steps: 2, spacing: densepure }]')}shareDraws: true\n`);
    expect(x.shareDraws).toBe(true);
    expect(expandGrid(x).map((c) => c.id)).toEqual(['densepure-K1-b2-dp_sigma0.5_auto', 'densepure-K10-b2-dp_sigma0.5_auto']);
    expect(ok(base).shareDraws).toBe(false);
    expect(fail(`${base}shareDraws: yes please\n`)).toMatch(/shareDraws: must be true or false/);
    expect(fail(base.replace('methods: [smoothing]', 'methods: [{ kind: densepure, K: 2, spacing: even }]'))).toMatch(/methods\[0\]\.spacing: must be 'uniform' or 'densepure'/);
  });

  it('fills defaults and expands the grid method x sigma x backend, K and steps lists included', () => {
    const x = ok(`
name: g
methods:
  - smoothing
  - kind: dds
  - kind: densepure
    K: [1, 5]
    steps: [5, full]
sigmas: [0.25, 0.5]
backends: [onnx, tfjs]
`);
    expect(x.certify).toEqual({ N0: 100, N: 1000, alpha: 0.001 });
    expect(x.dataset).toEqual({ spec: 'default', skip: 1 });
    expect(x.models).toEqual({ denoiser: 'default', classifier: 'default' });
    expect(x.seed).toBe(0);
    const cells = expandGrid(x);
    expect(cells).toHaveLength((2 + 4) * 2 * 2);
    expect(cells.slice(0, 4).map((c) => c.id)).toEqual(['smoothing_sigma0.25_onnx', 'smoothing_sigma0.25_tfjs', 'smoothing_sigma0.5_onnx', 'smoothing_sigma0.5_tfjs']);
    expect(cells.map((c) => c.id)).toContain('densepure-K5-full_sigma0.5_tfjs');
    expect(cells.map((c) => c.id)).toContain('densepure-K1-b5_sigma0.25_onnx');
  });

  it('reads any setting of the table, a float list included, and refuses a combination its method refuses', () => {
    const x = ok(base.replace('methods: [smoothing]', 'methods: [dds, { kind: diffsmooth, m: 5, sigmaL: [0.12, 0.25] }, { kind: diffsmooth, purification: 2, spacing: densepure, m: 1, sigmaL: 0 }]'));
    expect(expandGrid(x).map((c) => c.id)).toEqual([
      'dds_sigma0.5_auto',
      'diffsmooth-one-shot-m5-sl0.12_sigma0.5_auto',
      'diffsmooth-one-shot-m5-sl0.25_sigma0.5_auto',
      'diffsmooth-b2-dp-m1-sl0_sigma0.5_auto',
    ]);
    // Each value passes its own check; the pair does not (sigma_l = 0 only with m = 1): named, with the listed value.
    expect(fail(base.replace('methods: [smoothing]', 'methods: [{ kind: diffsmooth, m: [1, 5], sigmaL: 0 }]'))).toContain('methods[0].sigmaL: must be > 0 with m > 1 (0 only with m = 1, where DiffSmooth is its purification alone) (got 0, with m 5)');
    expect(fail(base.replace('methods: [smoothing]', 'methods: [{ kind: diffsmooth, m: 0 }]'))).toMatch(/methods\[0\]\.m: must be a whole number from 1 to 65535 \(got 0\)/);
    expect(fail(base.replace('methods: [smoothing]', 'methods: [{ kind: diffsmooth, sigmaL: -0.1 }]'))).toMatch(/methods\[0\]\.sigmaL: must be a number > 0 \(or 0 with m = 1\) \(got -0\.1\)/);
  });

  it('reads JSON as well', () => {
    expect(ok(JSON.stringify({ name: 'j', methods: ['dds'], sigmas: [0.25] }), 'x.json').methods).toEqual([{ kind: 'dds' }]);
    expect(fail('{"name": "j",', 'x.json')).toMatch(/x.json: not valid JSON/);
  });

  it('names the key and the allowed values', () => {
    expect(fail(`name: t\nmethods: [smoothing, ddpm]\nsigmas: [0.5]\n`)).toMatch(/methods\[1\]\.kind: must be one of smoothing, dds, densepure\b.*\(got "ddpm"\)/);
    expect(fail(`name: t\nmethods: [{kind: densepure, K: 0}]\nsigmas: [0.5]\n`)).toMatch(/methods\[0\]\.K: must be a whole number >= 1.* \(got 0\)/);
    expect(fail(`name: t\nmethods: [{kind: densepure, K: 2, steps: half}]\nsigmas: [0.5]\n`)).toMatch(/methods\[0\]\.steps: must be 'full' or a whole number >= 1/);
    expect(fail(`${base}sigma: 0.5\n`)).toMatch(/\(top level\): unknown key 'sigma'; allowed keys: name, description, models, dataset, methods, sigmas, backends, certify, seed, batch, workers, threads, variance/);
    expect(fail(`${base}certify: {N0: 10, n: 40}\n`)).toMatch(/certify: unknown key 'n'; allowed keys: N0, N, alpha/);
    expect(fail(`${base}certify: {alpha: 2}\n`)).toMatch(/certify\.alpha: must be a number in \(0, 1\) \(got 2\)/);
    expect(fail(`name: t\nmethods: [smoothing]\nsigmas: [0.5, -1]\n`)).toMatch(/sigmas\[1\]: must be a number > 0 \(got -1\)/);
    expect(fail(`${base}variance: big\n`)).toMatch(/variance: must be one of learned-range, fixed-small, fixed-large \(got "big"\)/);
    expect(fail(`${base}dataset: {skip: 0}\n`)).toMatch(/dataset\.skip: must be a whole number >= 1 \(got 0\)/);
    expect(fail(`name: my grid\nmethods: [smoothing]\nsigmas: [0.5]\n`)).toMatch(/name: must be a name made of letters/);
    expect(fail(`methods: [smoothing]\n`)).toMatch(/name: .*\(missing\)[\s\S]*sigmas: .*\(missing\)/);
  });

  it('checks relations between keys', () => {
    expect(fail(`${base}certify: {N0: 500, N: 100}\n`)).toMatch(/certify\.N0: must not exceed certify\.N \(500 > 100\)/);
    expect(fail(`name: t\nmethods: [dds, {kind: dds}]\nsigmas: [0.5]\n`)).toMatch(/methods: 'dds' appears twice/);
    expect(fail(`name: t\nmethods: [smoothing]\nsigmas: [0.5, 0.5]\n`)).toMatch(/sigmas: lists a noise level twice/);
    expect(fail(`name: t\nmethods: [dds]\nsigmas: [0.5]\nmodels: {denoiser: none}\n`)).toMatch(/models\.denoiser: 'none' leaves dds(, | and )densepure\b.* without a diffusion model/);
  });

  it('reports YAML syntax errors and non-mapping documents', () => {
    expect(fail('name: [unclosed\n')).toMatch(/x.yaml: not valid YAML/);
    expect(fail('- a\n- b\n')).toMatch(/an experiment must be a mapping with keys name, /);
    expect(fail('name: a\nname: b\nmethods: [dds]\nsigmas: [1]\n')).toMatch(/not valid YAML: .*[Mm]ap keys must be unique/);
  });

  it('the shipped experiments are valid; mnist-paper has enough draws to certify radius 1.0 at sigma 0.5', () => {
    const read = (name: string): Experiment => ok(readFileSync(fileURLToPath(new URL(`../../../experiments/${name}`, import.meta.url)), 'utf8'), name);
    const small = read('mnist-small.yaml');
    expect(expandGrid(small).length).toBe(6);
    const paper = read('mnist-paper.yaml');
    expect(paper.sigmas).toEqual([0.25, 0.5]);
    expect(paper.dataset).toMatchObject({ spec: 'default', skip: 20 });
    expect(paper.shareDraws).toBe(true);
    // With all N draws correct the one-sided Clopper-Pearson lower bound is alpha^(1/N); radius sigma * PhiInv(pA)
    // reaches 1.0 at sigma 0.5 only if that bound is >= Phi(2) = 0.97725.
    expect(paper.certify.alpha ** (1 / paper.certify.N)).toBeGreaterThanOrEqual(0.97725);
    expect(expandGrid(paper).map((c) => c.id.split('_')[0])).toEqual(
      expect.arrayContaining(['smoothing', 'dds', 'densepure-K1-b2-dp', 'densepure-K5-b2-dp', 'densepure-K10-b2-dp']),
    );
    const steps = read('mnist-steps.yaml');
    expect(expandGrid(steps).map((c) => c.id)).toEqual(['dds_sigma0.5_auto', 'densepure-K1-b5-dp_sigma0.5_auto', 'densepure-K5-b5-dp_sigma0.5_auto']);
    expect(steps.certify).toEqual(paper.certify);
    // The method family on the same images and draws, sequential: every registered family member, radius 1.0 at sigma 0.5.
    const family = read('method-family.yaml');
    expect(family.shareDraws).toBe(true);
    expect([...new Set(expandGrid(family).map((c) => c.method.kind))]).toEqual(['smoothing', 'dds', 'densepure', 'densepure-soft', 'diffsmooth']);
    expect(expandGrid(family).filter((c) => c.sigma === 0.5).map((c) => c.mode)).toContainEqual(expect.objectContaining({ kind: 'sequential', radii: [0.25, 0.5, 0.75, 1] }));
  });
});

describe('sequential experiments', () => {
  it('gives sequential cells their own ids and each sigma its radii', () => {
    const x = ok(`${base.replace('sigmas: [0.5]', 'sigmas: [0.25, 0.5]')}certify: { N: 100000, sequential: { radii: { 0.25: [0.25, 0.5], 0.5: [0.25, 0.5, 0.75, 1] }, group: 4 } }\n`);
    const cells = expandGrid(x);
    expect(cells.map((c) => c.id)).toEqual(['smoothing_sigma0.25_auto_sequential', 'smoothing_sigma0.5_auto_sequential']);
    expect(cells.map((c) => c.mode)).toEqual([
      { kind: 'sequential', radii: [0.25, 0.5], group: 4 },
      { kind: 'sequential', radii: [0.25, 0.5, 0.75, 1], group: 4 },
    ]);
    expect(expandGrid(ok(base)).map((c) => c.id)).toEqual(['smoothing_sigma0.5_auto']);
    expect(expandGrid(ok(`${base}certify: { sequential: { maxRadius: 0.6 } }\n`))[0]!.mode).toMatchObject({ radii: [0.25, 0.5, 0.6] });
  });

  it('refuses radii the cap cannot reach (naming the N it needs), bad radii and a missing sigma', () => {
    expect(fail(`${base}certify: { N: 100, sequential: { radii: [0.5, 1] } }\n`)).toMatch(/sigma 0\.5: certify\.sequential\.radii: radius 1 cannot be certified .* needs certify\.N >= \d+/);
    expect(fail(`${base}certify: { sequential: { radii: [0.5, 0.25] } }\n`)).toMatch(/strictly increasing/);
    expect(fail(`${base}certify: { sequential: { radii: [0, 0.25] } }\n`)).toMatch(/certify\.sequential\.radii\[0\]: must be a number > 0/);
    expect(fail(`${base}certify: { sequential: { radii: [0.25], maxRadius: 1 } }\n`)).toMatch(/give radii or maxRadius \(exactly one/);
    expect(fail(`${base}certify: { sequential: { radii: { 0.25: [0.25] } } }\n`)).toMatch(/no entry for sigma 0\.5/);
    expect(fail(`${base}certify: { sequential: { radii: [0.25], every: 3 } }\n`)).toMatch(/unknown key 'every'/);
    expect(expandGrid(ok(`${base}certify: { sequential: { radii: [0.25], selection: fixed, futility: 0.05 } }\n`))[0]!.mode).toMatchObject({ selection: 'fixed', futility: 0.05 });
    expect(fail(`${base}certify: { sequential: { radii: [0.25], futility: 1 } }\n`)).toMatch(/futility/);
  });

  it('refuses a maxRadius out of reach before listing its radii (1e9: no crash), naming maxRadius', () => {
    expect(fail(`${base}certify: { sequential: { maxRadius: 1e9 } }\n`)).toMatch(/sigma 0\.5: certify\.sequential\.maxRadius: radius 1000000000 cannot be certified .*ask for a smaller certify\.sequential\.maxRadius/);
    expect(fail(`${base}certify: { N: 100, sequential: { maxRadius: { 0.5: 2 } } }\n`)).toMatch(/certify\.sequential\.maxRadius: radius 2 cannot be certified .* needs certify\.N >= \d+/);
    expect(fail(`${base}certify: { cascade: { sigmas: [1, 0.5], maxRadius: 1e9 } }\n`)).toMatch(/certify\.cascade\.maxRadius: radius 1000000000 cannot be certified at sigma 1 /);
  });
});

describe('cascade experiments', () => {
  it("adds a cascade cell per method and backend after the method's sigmas, at the cascade's first sigma", () => {
    const x = ok(`${base.replace('sigmas: [0.5]', 'sigmas: [0.25, 0.5]')}certify: { cascade: { sigmas: [0.5, 0.25] } }\n`);
    const cells = expandGrid(x);
    expect(cells.map((c) => c.id)).toEqual(['smoothing_sigma0.25_auto', 'smoothing_sigma0.5_auto', 'smoothing_cascade0.5-0.25_p0-0.5_auto']);
    expect(cells[2]).toMatchObject({ sigma: 0.5, mode: { kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.5 } });
    expect(cells[0]!.mode).toEqual({ kind: 'fixed' });
    const seq = expandGrid(ok(`${base}certify: { cascade: { sigmas: [1, 0.5], p0: 0.6, maxRadius: 0.5 } }\n`));
    expect(seq.at(-1)).toMatchObject({ id: 'smoothing_cascade1-0.5_p0-0.6_auto_sequential', sigma: 1, mode: { kind: 'cascade', p0: 0.6, radii: [0.25, 0.5] } });
    const fixedSelection = expandGrid(ok(`${base}certify: { cascade: { sigmas: [1, 0.5], maxRadius: 0.5, selection: fixed } }\n`));
    expect(fixedSelection.at(-1)!.mode).toMatchObject({ kind: 'cascade', radii: [0.25, 0.5], selection: 'fixed' });
  });

  it('refuses sigmas not decreasing, p0 outside [0.5, 1) and bad radii, by key', () => {
    expect(fail(`${base}certify: { cascade: { sigmas: [0.25, 0.5] } }\n`)).toMatch(/certify\.cascade\.sigmas: the cascade's sigmas must be strictly decreasing .*0\.5 follows 0\.25/);
    expect(fail(`${base}certify: { cascade: { sigmas: [0.5, 0.25], p0: 1.5 } }\n`)).toMatch(/certify\.cascade\.p0: p0 must be a number in \(0, 1\), got 1\.5/);
    expect(fail(`${base}certify: { cascade: { sigmas: [0.5, 0.25], p0: 0.3 } }\n`)).toMatch(/certify\.cascade\.p0: p0 must be at least 0\.5, got 0\.3/);
    expect(fail(`${base}certify: { cascade: { sigmas: [0.5, 0.25], p0: half } }\n`)).toMatch(/certify\.cascade\.p0: must be a number in \[0\.5, 1\)/);
    expect(fail(`${base}certify: { cascade: { sigmas: [] } }\n`)).toMatch(/certify\.cascade\.sigmas: must list at least one noise level/);
    expect(fail(`${base}certify: { cascade: { sigmas: [0.5], radii: [0.5, 0.25] } }\n`)).toMatch(/certify\.cascade\.radii: the radii must be strictly increasing/);
    expect(fail(`${base}certify: { cascade: { sigmas: [0.5], radii: [0.25], maxRadius: 1 } }\n`)).toMatch(/certify\.cascade: give radii or maxRadius, not both/);
    expect(fail(`${base}certify: { cascade: { sigma: [0.5] } }\n`)).toMatch(/unknown key 'sigma'; allowed keys: sigmas, p0, radii, maxRadius, selection/);
    expect(fail(`${base}certify: { cascade: { sigmas: [0.5], selection: fixed } }\n`)).toMatch(/certify\.cascade\.selection: applies to a sequential cascade only/);
    expect(fail(`${base}certify: { cascade: { sigmas: [0.5], maxRadius: 0.5, selection: sometimes } }\n`)).toMatch(/certify\.cascade\.selection: must be 'adaptive' or 'fixed'/);
  });
});
