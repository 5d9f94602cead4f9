// Which TensorFlow.js runtime executes: tfjs-node-gpu (CUDA), tfjs-node (native TensorFlow on CPU), the
// WebAssembly backend (SIMD), or the pure-JS cpu backend; best first. The native ones are optional peer
// dependencies, loaded only if installed. Every choice records why the better ones were not taken.
// webgpu (Dawn through the `webgpu` package, also optional peers) runs only when named: on a machine without a
// GPU its adapter is a software one, slower than wasm.
import { dirname } from 'node:path';
import { either as E } from 'fp-ts';
import type { BackendError } from '@densepure/backend';
import type { Tf } from './onnx/values.js';
import { firstLine, notInstalled, requireCjs } from './optional.js';
import { type GpuHealth, type WebgpuDevice, openWebgpu, webgpuRoutes } from './webgpu.js';

export type RuntimeName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu' | 'webgpu';
/** The runtimes tried on their own when no device is named. */
type LocalRuntime = Exclude<RuntimeName, 'webgpu'>;

/** Best first: the order tried when `device` names none. */
export const RUNTIME_ORDER: readonly LocalRuntime[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

/** What `device` may name: the runtimes above, and webgpu (`webgpu`, or `webgpu:<Dawn backend>`). */
export const DEVICES: readonly string[] = [...RUNTIME_ORDER, 'webgpu', 'webgpu:<backend>'];

export interface Runtime {
  readonly name: RuntimeName;
  readonly tf: Tf;
  /** The tfjs backend name to activate before running: 'tensorflow', 'wasm' or 'cpu'. */
  readonly backend: string;
  /** e.g. 'tfjs 4.22.0 (wasm, simd, 1 thread)'. */
  readonly label: string;
  /** GPU runtimes: whether the device still works and which GPU errors a run raised. */
  readonly health?: GpuHealth;
}

export interface RuntimeChoice {
  readonly runtime: Runtime;
  /** Why each better runtime was not used, e.g. 'tfjs-node-gpu: not installed'. */
  readonly skipped: readonly string[];
}

const DEVICE_ALIASES: Readonly<Record<string, LocalRuntime>> = {
  'tfjs-node-gpu': 'tfjs-node-gpu',
  gpu: 'tfjs-node-gpu',
  cuda: 'tfjs-node-gpu',
  'tfjs-node': 'tfjs-node',
  node: 'tfjs-node',
  tensorflow: 'tfjs-node',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** Keeps tfjs quiet on stdout/stderr (its "install tfjs-node" banner would land in the CLI's output). */
function quiet(tf: Tf): void {
  try {
    tf.env().set('PROD', true);
  } catch {
    // older tfjs without the flag: nothing to silence
  }
}

type Attempt = E.Either<string, Runtime>;

async function nativeRuntime(name: 'tfjs-node-gpu' | 'tfjs-node'): Promise<Attempt> {
  const spec = `@tensorflow/${name}`;
  let tf: Tf;
  try {
    tf = requireCjs(spec) as Tf;
  } catch (cause) {
    return E.left(
      notInstalled(cause)
        ? `${name}: not installed (optional peer dependency ${spec}; its install downloads libtensorflow${name === 'tfjs-node-gpu' ? ' with CUDA' : ''})`
        : `${name}: installed but failed to load (${firstLine(cause)})`,
    );
  }
  try {
    quiet(tf);
    if (!(await tf.setBackend('tensorflow'))) return E.left(`${name}: the 'tensorflow' backend did not initialise`);
  } catch (cause) {
    return E.left(`${name}: the 'tensorflow' backend failed (${firstLine(cause)})`);
  }
  const version = tf.version?.['tfjs-core'] ?? '?';
  return E.right({ name, tf, backend: 'tensorflow', label: `${name} ${version} (native TensorFlow${name === 'tfjs-node-gpu' ? ', cuda' : ', cpu'})` });
}

let tfjsModule: Tf | null = null;
const loadTfjs = (): Tf => (tfjsModule ??= requireCjs('@tensorflow/tfjs') as Tf);

let wasmThreads = 1;

async function wasmRuntime(): Promise<Attempt> {
  try {
    const tf = loadTfjs();
    quiet(tf);
    const wasm = requireCjs('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    if (tf.findBackend('wasm') === null || tf.getBackend() !== 'wasm') {
      // In node the .wasm binaries are read from the package's dist folder (no fetch from a CDN).
      const dist = dirname(requireCjs.resolve('@tensorflow/tfjs-backend-wasm'));
      try {
        wasm.setWasmPaths(`${dist}/`);
      } catch {
        // already initialised with paths set: fine
      }
    }
    if (!(await tf.setBackend('wasm'))) return E.left('wasm: the backend did not initialise');
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    wasmThreads = wasm.getThreadsCount();
    return E.right({
      name: 'wasm',
      tf,
      backend: 'wasm',
      label: `tfjs ${tf.version['tfjs-core'] ?? '?'} (wasm, ${simd ? 'simd' : 'no simd'}, ${wasmThreads} thread${wasmThreads === 1 ? '' : 's'})`,
    });
  } catch (cause) {
    return E.left(`wasm: failed to initialise (${firstLine(cause)})`);
  }
}

async function cpuRuntime(): Promise<Attempt> {
  try {
    const tf = loadTfjs();
    quiet(tf);
    if (!(await tf.setBackend('cpu'))) return E.left('cpu: the backend did not initialise');
    return E.right({ name: 'cpu', tf, backend: 'cpu', label: `tfjs ${tf.version['tfjs-core'] ?? '?'} (cpu, pure JS)` });
  } catch (cause) {
    return E.left(`cpu: failed to initialise (${firstLine(cause)})`);
  }
}

/** The webgpu device in use (tfjs holds one 'webgpu' backend per process), and the spec it was opened for. */
let webgpu: { readonly spec: string; readonly opened: Promise<E.Either<string, WebgpuDevice>> } | null = null;

/** Opens `spec`'s GPU device, or reuses the live one; a lost device is replaced by a new one. */
async function webgpuRuntime(spec: string): Promise<E.Either<string, { runtime: Runtime; skipped: readonly string[] }>> {
  const routes = webgpuRoutes(spec);
  if (E.isLeft(routes)) return routes;
  const before = webgpu;
  const current = before === null ? null : await before.opened;
  // Another load replaced the device while this one waited: decide again against that one.
  if (webgpu !== before) return webgpuRuntime(spec);
  const live = current !== null && E.isRight(current) && current.right.health.lost() === undefined;
  if (webgpu !== null && live && webgpu.spec !== spec) {
    return E.left(
      `the webgpu device ${webgpu.spec} is in use in this process, and tfjs holds one webgpu backend per process: name ${webgpu.spec} again (or run the other in its own process)`,
    );
  }
  // A first request, another spec after a failed one, or a lost device: open (again).
  if (webgpu === null || webgpu.spec !== spec || (current !== null && E.isRight(current) && !live)) {
    const tf = loadTfjs();
    quiet(tf);
    webgpu = { spec, opened: openWebgpu(tf, routes.right) };
  }
  const got = await webgpu.opened;
  if (E.isLeft(got)) return got;
  const d = got.right;
  return E.right({ runtime: { name: 'webgpu', tf: d.tf, backend: 'webgpu', label: d.label, health: d.health }, skipped: d.skipped });
}

/** Whether the webgpu device could be named, without opening one (Dawn may print to stderr while it looks). */
function webgpuInstalled(): string {
  try {
    requireCjs.resolve('@tensorflow/tfjs-backend-webgpu');
    requireCjs.resolve('webgpu');
    return 'webgpu: installed; used only when named (device webgpu, or webgpu:<backend>)';
  } catch {
    return 'webgpu: not installed (optional peer dependencies webgpu and @tensorflow/tfjs-backend-webgpu)';
  }
}

/** Destroys the webgpu device in use, if any (what a driver reset does; tests check that runs then fail cleanly). */
export async function destroyWebgpuDevice(): Promise<boolean> {
  const current = webgpu === null ? null : await webgpu.opened;
  if (current === null || E.isLeft(current)) return false;
  current.right.destroy();
  return true;
}

const attempts = new Map<RuntimeName, Promise<Attempt>>();

/** Tries one runtime (once per process; the result is remembered). */
export function tryRuntime(name: LocalRuntime): Promise<Attempt> {
  let a = attempts.get(name);
  if (a === undefined) {
    a = name === 'wasm' ? wasmRuntime() : name === 'cpu' ? cpuRuntime() : nativeRuntime(name);
    attempts.set(name, a);
  }
  return a;
}

/** Resolves `device` ('wasm', 'cpu', 'tfjs-node', 'tfjs-node-gpu', 'webgpu[:backend]', or none for the best available). */
export async function chooseRuntime(device?: string): Promise<E.Either<BackendError, RuntimeChoice>> {
  if (device === 'webgpu' || device?.startsWith('webgpu:') === true) {
    const got = await webgpuRuntime(device);
    return E.isRight(got) ? E.right(got.right) : E.left({ kind: 'backend-unavailable', backend: 'tfjs', message: `device ${device} cannot be used here: ${got.left}` });
  }
  if (device !== undefined && device !== '' && device !== 'auto') {
    const name = DEVICE_ALIASES[device];
    if (name === undefined) {
      return E.left({
        kind: 'backend-unavailable',
        backend: 'tfjs',
        message: `unknown device '${device}' for the tfjs backend: use ${DEVICES.join(', ')} (or name none for the best available)`,
      });
    }
    const got = await tryRuntime(name);
    return E.isRight(got)
      ? E.right({ runtime: got.right, skipped: [] })
      : E.left({ kind: 'backend-unavailable', backend: 'tfjs', message: `device ${device} cannot be used here: ${got.left}` });
  }
  const skipped: string[] = [];
  for (const name of RUNTIME_ORDER) {
    const got = await tryRuntime(name);
    if (E.isRight(got)) return E.right({ runtime: got.right, skipped });
    skipped.push(got.left);
  }
  return E.left({ kind: 'backend-unavailable', backend: 'tfjs', message: `no TensorFlow.js runtime works here: ${skipped.join('; ')}` });
}

/** Makes `rt`'s tfjs backend the active one (tfjs has one global backend; models on different runtimes take turns). */
export async function activate(rt: Runtime): Promise<void> {
  if (rt.tf.getBackend() !== rt.backend) await rt.tf.setBackend(rt.backend);
}

/** Every runtime this process can use, and why the others cannot be. */
export async function probeRuntimes(): Promise<{ usable: Runtime[]; reasons: string[] }> {
  const usable: Runtime[] = [];
  const reasons: string[] = [];
  for (const name of RUNTIME_ORDER) {
    const got = await tryRuntime(name);
    if (E.isRight(got)) usable.push(got.right);
    else reasons.push(got.left);
  }
  reasons.push(webgpuInstalled());
  return { usable, reasons };
}

/** The runtime text a loaded model reports: what runs, why better runtimes were skipped, and ignored options. */
export function runtimeText(choice: RuntimeChoice, options: { threads?: number; workers?: number } = {}): string {
  const notes = [...choice.skipped];
  if (options.threads !== undefined && choice.runtime.name !== 'wasm') notes.push(`threads=${options.threads} ignored (${choice.runtime.name} picks its own)`);
  if (options.threads !== undefined && choice.runtime.name === 'wasm' && options.threads !== wasmThreads) {
    notes.push(`threads=${options.threads} ignored (the wasm backend runs ${wasmThreads} thread${wasmThreads === 1 ? '' : 's'} under node)`);
  }
  if (options.workers !== undefined && options.workers > 0) notes.push(`workers=${options.workers} ignored (tfjs runs in-process)`);
  return notes.length === 0 ? choice.runtime.label : `${choice.runtime.label}; ${notes.join('; ')}`;
}
