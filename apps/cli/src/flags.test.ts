// The method flags: every setting of the method table is a flag, the old spellings (--denoiser none, --one-shot,
// DensePure by default) name the same methods as --method, and what does not fit is refused in words.
import { Command } from 'commander';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { METHOD_KINDS, METHOD_SETTINGS } from '@densepure/runner';
import { addMethodOptions, addModeOptions, addModelOptions, drawSplitFromFlags, methodFromFlags, modeFromFlags, parseNumber, parseWhole, settingFlag, sigmaFromFlags } from './flags.js';

const program = () => addMethodOptions(addModelOptions(new Command('t')))
  .exitOverride()
  .configureOutput({ writeErr: () => {}, writeOut: () => {} });

/** The method the flags name, or the usage / commander message. */
const method = (...argv: string[]) => {
  const cmd = program();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    return { refused: (e as Error).message };
  }
  const r = methodFromFlags(cmd.opts());
  return E.isRight(r) ? r.right : { refused: r.left.message };
};

describe('method flags', () => {
  it('has one flag per setting of the method table, and --method with its kinds', () => {
    const help = program().helpInformation();
    for (const s of METHOD_SETTINGS) expect(help).toContain(settingFlag(s.name));
    expect(METHOD_SETTINGS.slice(0, 3).map((s) => settingFlag(s.name))).toEqual(['--K', '--steps', '--spacing']);
    expect(settingFlag('sigmaL')).toBe('--sigma-l');
    expect(help).toContain(`--method <kind>`);
    expect(program().options.find((o) => o.long === '--method')?.argChoices).toEqual([...METHOD_KINDS]);
    expect(settingFlag('maxVotes')).toBe('--max-votes');
  });

  it('keeps the old spellings: DensePure by default, --one-shot is DDS, --denoiser none plain smoothing', () => {
    expect(method()).toEqual({ kind: 'densepure', votes: 1, steps: 10 });
    expect(method('--K', '5', '--steps', '5')).toEqual({ kind: 'densepure', votes: 5, steps: 5 });
    expect(method('--K', '10', '--steps', '2', '--spacing', 'densepure')).toEqual({ kind: 'densepure', votes: 10, steps: 2, spacing: 'densepure' });
    expect(method('--steps', 'full', '--spacing', 'uniform')).toEqual({ kind: 'densepure', votes: 1, steps: 'full' });
    expect(method('--one-shot')).toEqual({ kind: 'dds' });
    expect(method('--one-shot', '--K', '1')).toEqual({ kind: 'dds' });
    expect(method('--denoiser', 'none')).toEqual({ kind: 'smoothing' });
  });

  it('--method names any kind of the table', () => {
    expect(method('--method', 'dds')).toEqual({ kind: 'dds' });
    expect(method('--method', 'dds', '--one-shot')).toEqual({ kind: 'dds' });
    expect(method('--method', 'smoothing')).toEqual({ kind: 'smoothing' });
    expect(method('--method', 'densepure', '--K', '3', '--steps', 'full')).toEqual({ kind: 'densepure', votes: 3, steps: 'full' });
    expect(method('--method', 'ddpm')).toEqual({ refused: expect.stringMatching(/Allowed choices are smoothing, dds, densepure/) });
  });

  it('DiffSmooth from its flags, a float setting included; a bad value or combination refused naming the flag', () => {
    expect(method('--method', 'diffsmooth')).toEqual({ kind: 'diffsmooth', purification: 'one-shot', m: 5, sigmaL: 0.25 });
    expect(method('--method', 'diffsmooth', '--purification', '2', '--spacing', 'densepure', '--m', '3', '--sigma-l', '0.12', '--local-vote', 'soft')).toEqual({
      kind: 'diffsmooth',
      purification: 2,
      spacing: 'densepure',
      m: 3,
      sigmaL: 0.12,
      localVote: 'soft',
    });
    expect(method('--method', 'diffsmooth', '--m', '1', '--sigma-l', '0')).toEqual({ kind: 'diffsmooth', purification: 'one-shot', m: 1, sigmaL: 0 });
    expect(method('--method', 'diffsmooth', '--m', '0')).toEqual({ refused: expect.stringContaining("--m must be a whole number from 1 to 65535, got '0'") });
    expect(method('--method', 'diffsmooth', '--sigma-l', '-0.1')).toEqual({ refused: expect.stringContaining("--sigma-l must be a number > 0 (or 0 with m = 1), got '-0.1'") });
    expect(method('--method', 'diffsmooth', '--sigma-l', '0')).toEqual({ refused: "--sigma-l must be > 0 with m > 1 (0 only with m = 1, where DiffSmooth is its purification alone), got '0'" });
    expect(method('--method', 'diffsmooth', '--spacing', 'densepure')).toEqual({ refused: expect.stringMatching(/^--spacing 'densepure' spaces respaced steps only/) });
    expect(method('--method', 'dds', '--m', '3')).toEqual({ refused: '--m 3 applies to diffsmooth only, not --method dds; drop --m' });
  });

  it('refuses bad values and settings the method does not take, naming the flag', () => {
    expect(method('--K', '0')).toEqual({ refused: expect.stringContaining("--K must be a whole number >= 1, got '0'") });
    expect(method('--K', 'abc')).toEqual({ refused: expect.stringContaining("--K must be a whole number >= 1, got 'abc'") });
    expect(method('--steps', 'x')).toEqual({ refused: expect.stringContaining("--steps must be 'full' or a whole number >= 1, got 'x'") });
    expect(method('--spacing', 'even')).toEqual({ refused: expect.stringContaining('Allowed choices are uniform, densepure') });
    expect(method('--one-shot', '--K', '3')).toEqual({ refused: expect.stringMatching(/^--K 3 applies to densepure\b.* only, not --one-shot \(dds\); drop --K$/) });
    expect(method('--denoiser', 'none', '--K', '3')).toEqual({ refused: expect.stringMatching(/^--K 3 applies to densepure\b.* only, not --denoiser none \(plain smoothing\); drop --K$/) });
    expect(method('--method', 'smoothing', '--steps', '4')).toEqual({ refused: expect.stringMatching(/^--steps 4 applies to densepure\b.* only, not --method smoothing; drop --steps$/) });
    expect(method('--denoiser', 'none', '--one-shot')).toEqual({ refused: '--one-shot needs a denoiser; drop --denoiser none' });
    expect(method('--denoiser', 'none', '--method', 'densepure')).toEqual({ refused: '--method densepure needs a denoiser; drop --denoiser none' });
    expect(method('--method', 'smoothing', '--one-shot')).toEqual({ refused: '--one-shot means --method dds: drop --one-shot or --method smoothing' });
  });
});

// The draw flags as `certify` has them: --max-radius is checked against what N0, N and alpha can certify.
const modeProgram = () => addModeOptions(addMethodOptions(new Command('t')))
  .option('--N0 <n>', 'selection draws', parseWhole('--N0', 1), 100)
  .option('--N <n>', 'estimation draws', parseWhole('--N', 1), 1000)
  .option('--alpha <a>', 'failure probability', parseNumber('--alpha'), 0.001)
  .exitOverride()
  .configureOutput({ writeErr: () => {}, writeOut: () => {} });

/** The certify mode and run sigma the flags name, or the usage / commander message. */
const mode = (...argv: string[]) => {
  const cmd = modeProgram();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    return { refused: (e as Error).message };
  }
  const m = modeFromFlags(cmd.opts());
  if (E.isLeft(m)) return { refused: m.left.message };
  const sigma = sigmaFromFlags(cmd.opts(), m.right, cmd.getOptionValueSource('sigma') === 'cli');
  return E.isRight(sigma) ? { mode: m.right, sigma: sigma.right } : { refused: sigma.left.message };
};

describe('mode flags', () => {
  it('--sigmas makes a cascade at --p0 (default 0.5) whose first sigma is the run sigma; --radii makes its stages sequential', () => {
    expect(mode('--sigmas', '1,0.5,0.25')).toEqual({ mode: { kind: 'cascade', sigmas: [1, 0.5, 0.25], p0: 0.5 }, sigma: 1 });
    expect(mode('--mode', 'cascade', '--sigmas', '0.5,0.25', '--p0', '0.7', '--sigma', '0.5')).toEqual({ mode: { kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.7 }, sigma: 0.5 });
    expect(mode('--sigmas', '0.5,0.25', '--radii', '0.25,0.5')).toEqual({ mode: { kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.5, radii: [0.25, 0.5] }, sigma: 0.5 });
    expect(mode('--sigmas', '0.5,0.25', '--max-radius', '0.5')).toEqual({ mode: { kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.5, radii: [0.25, 0.5] }, sigma: 0.5 });
    expect(mode('--sigmas', '0.5,0.25', '--radii', '0.25', '--selection', 'fixed')).toEqual({ mode: { kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.5, radii: [0.25], selection: 'fixed' }, sigma: 0.5 });
    expect(mode('--sigmas', '0.5,0.25', '--selection', 'fixed')).toEqual({ refused: '--selection applies to a sequential cascade only: give --radii or --max-radius, or drop --selection' });
    // The other modes are as they were.
    expect(mode()).toEqual({ mode: { kind: 'fixed' }, sigma: 0.5 });
    expect(mode('--radii', '0.25', '--sigma', '0.25')).toEqual({ mode: { kind: 'sequential', radii: [0.25] }, sigma: 0.25 });
  });

  it('--selection and --futility set the sequential mode, and are refused elsewhere', () => {
    expect(mode('--radii', '0.25', '--selection', 'fixed', '--futility', '0.05')).toEqual({ mode: { kind: 'sequential', radii: [0.25], selection: 'fixed', futility: 0.05 }, sigma: 0.5 });
    expect(mode('--selection', 'fixed')).toEqual({ refused: expect.stringMatching(/^--selection applies to sequential certification only/) });
    expect(mode('--sigmas', '1,0.5', '--futility', '0.1')).toEqual({ refused: '--futility applies to sequential certification only, not to a cascade: drop --futility' });
    expect(mode('--radii', '0.25', '--selection', 'sometimes')).toEqual({ refused: expect.stringContaining("'sometimes' is invalid") });
  });

  it('refuses what does not fit a cascade, naming the flags (the runner checks the numbers themselves)', () => {
    expect(mode('--mode', 'cascade')).toEqual({ refused: '--mode cascade needs its noise levels, largest first: --sigmas 1,0.5,0.25' });
    expect(mode('--sigmas', '1,0.5', '--sigma', '0.5')).toEqual({ refused: "--sigma 0.5 is not the cascade's first sigma 1: a cascade runs at its --sigmas, largest first; drop --sigma" });
    expect(mode('--sigmas', '1,0.5', '--group', '4')).toEqual({ refused: '--group applies to sequential certification only, not to a cascade: drop --group' });
    expect(mode('--sigmas', '1,0.5', '--radii', '0.25', '--max-radius', '1')).toEqual({ refused: 'give --radii or --max-radius, not both' });
    expect(mode('--mode', 'fixed', '--sigmas', '1,0.5')).toEqual({ refused: '--sigmas applies to a cascade only: drop it, or use --mode cascade' });
    expect(mode('--mode', 'sequential', '--radii', '0.25', '--sigmas', '1', '--p0', '0.6')).toEqual({ refused: '--sigmas and --p0 apply to a cascade only: drop them, or use --mode cascade' });
    expect(mode('--p0', '0.6')).toEqual({ refused: "--p0 applies to a cascade only: give the cascade's --sigmas too, or drop --p0" });
    expect(mode('--sigmas', '1,x')).toEqual({ refused: expect.stringContaining("--sigmas must be a comma-separated list of numbers (e.g. 0.25,0.5,0.75,1), got '1,x'") });
    expect(mode('--sigmas', '1', '--p0', 'half')).toEqual({ refused: expect.stringContaining("--p0 must be a number, got 'half'") });
    const split = drawSplitFromFlags({ queue: 'redis://h:1/0', maxDrawsPerJob: 50 }, { kind: 'cascade', sigmas: [1], p0: 0.5 });
    expect(E.isLeft(split) && split.left.message).toMatch(/--max-draws-per-job applies to fixed N only: a cascade/);
  });
});
