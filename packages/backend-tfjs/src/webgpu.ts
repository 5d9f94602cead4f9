// The webgpu device: tfjs's WebGPU backend on an adapter from Dawn, through the `webgpu` npm package (dawn.node,
// prebuilt inside the npm tarball: nothing is downloaded at install). Both `webgpu` and
// `@tensorflow/tfjs-backend-webgpu` are optional peer dependencies, loaded only when this device is asked for.
import { either as E } from 'fp-ts';
import type { Tf } from './onnx/values.js';
import { firstLine, notInstalled, requireCjs } from './optional.js';

/** Dawn's backends a device spec may name: `webgpu:<backend>`. */
export const DAWN_BACKENDS = ['vulkan', 'metal', 'd3d12', 'd3d11', 'opengles', 'opengl'] as const;
export type DawnBackend = (typeof DAWN_BACKENDS)[number];

/** How one adapter is asked for: Dawn's own pick of native API (Vulkan, Metal, D3D12), or one backend named. */
export interface AdapterRoute {
  readonly backend: DawnBackend | 'native';
  /** Dawn's GL backends only offer WebGPU's compatibility feature level. */
  readonly featureLevel: 'core' | 'compatibility';
}

const routeOf = (backend: DawnBackend | 'native'): AdapterRoute => ({
  backend,
  featureLevel: backend === 'opengles' || backend === 'opengl' ? 'compatibility' : 'core',
});

/** `webgpu` with no backend named: the platform's native API first, then GL ES (where Mesa's llvmpipe answers). */
const DEFAULT_ROUTES: readonly AdapterRoute[] = [routeOf('native'), routeOf('opengles')];

/** The Dawn routes a device spec asks for, or a message saying what a spec may be. */
export function webgpuRoutes(device: string): E.Either<string, readonly AdapterRoute[]> {
  if (device === 'webgpu') return E.right(DEFAULT_ROUTES);
  const named = device.slice('webgpu:'.length);
  return device.startsWith('webgpu:') && (DAWN_BACKENDS as readonly string[]).includes(named)
    ? E.right([routeOf(named as DawnBackend)])
    : E.left(`unknown webgpu device '${device}': use webgpu (Dawn's native API, else GL ES) or webgpu:<backend> with one of ${DAWN_BACKENDS.join(', ')}`);
}

/** What a run on the device must check: the device is still there, and the GPU raised no error meanwhile. */
export interface GpuHealth {
  /** Why the device is gone ('destroyed: ...', 'unknown: ...'), or undefined while it works. */
  lost(): string | undefined;
  /** GPU errors (validation, out of memory) raised since the last call, then forgotten. */
  takeErrors(): readonly string[];
}

export interface WebgpuDevice {
  readonly tf: Tf;
  readonly label: string;
  readonly health: GpuHealth;
  /** Why each route tried before the one used gave no adapter. */
  readonly skipped: readonly string[];
  /** Destroys the GPU device (tests use it to check that a lost device is an error, not a crash). */
  destroy(): void;
}

// Just the parts of the WebGPU API used here (the full types come with the optional peer `@webgpu/types`).
interface GpuAdapterInfo {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
}
interface GpuDevice {
  readonly lost: Promise<{ readonly reason: string; readonly message: string }>;
  addEventListener(type: 'uncapturederror', listener: (event: { readonly error: { readonly message: string } }) => void): void;
  destroy(): void;
}
interface GpuAdapter {
  readonly info: GpuAdapterInfo;
  readonly limits: Readonly<Record<string, number>>;
  readonly features: ReadonlySet<string>;
  requestDevice(descriptor: { requiredLimits: Record<string, number>; requiredFeatures: string[] }): Promise<GpuDevice>;
}
interface Gpu {
  requestAdapter(options: { featureLevel: string; powerPreference: string }): Promise<GpuAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  readonly globals: Record<string, unknown>;
}
interface TfWebgpuModule {
  readonly WebGPUBackend: new (device: GpuDevice, adapterInfo: GpuAdapterInfo) => object;
}

/** Limits tfjs's webgpu kernels size their work by: ask the device for what the adapter can do. */
const TFJS_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|warp/i;

/**
 * tfjs's webgpu backend finds WebGPU the way a browser offers it: `navigator.gpu` and the `GPUBufferUsage`-style
 * constants as globals. Node has neither, so Dawn's are installed where missing (nothing existing is replaced).
 */
function installGlobals(dawn: DawnModule, gpu: Gpu): void {
  const g = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in g)) g[name] = value;
  const nav = g['navigator'] as { gpu?: unknown } | undefined;
  if (nav === undefined) g['navigator'] = { gpu };
  else if (nav.gpu !== gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
}

const installHint =
  'the webgpu device needs the optional peer dependencies webgpu (0.6) and @tensorflow/tfjs-backend-webgpu (4.22.0, the same version as @tensorflow/tfjs): add both to the application';

/** Loads dawn.node and tfjs's webgpu kernels, or says which package is missing. */
function loadPackages(): E.Either<string, { dawn: Promise<DawnModule>; tfWebgpu: TfWebgpuModule }> {
  let tfWebgpu: TfWebgpuModule;
  try {
    // Before navigator.gpu exists, so the package registers its kernels but not its own adapter request.
    tfWebgpu = requireCjs('@tensorflow/tfjs-backend-webgpu') as TfWebgpuModule;
  } catch (cause) {
    return E.left(notInstalled(cause) ? `webgpu: not installed (${installHint})` : `webgpu: @tensorflow/tfjs-backend-webgpu failed to load (${firstLine(cause)})`);
  }
  // `webgpu` is an ES module: import() it (its dawn.node is loaded there).
  const dawn = import('webgpu' as string).then((m) => m as DawnModule);
  return E.right({ dawn, tfWebgpu });
}

const dawnInstances = new Map<string, Gpu>();

function dawnInstance(dawn: DawnModule, route: AdapterRoute): Gpu {
  const key = route.backend;
  let gpu = dawnInstances.get(key);
  if (gpu === undefined) {
    gpu = dawn.create(route.backend === 'native' ? [] : [`backend=${route.backend}`]);
    dawnInstances.set(key, gpu);
  }
  return gpu;
}

const noAdapter = (route: AdapterRoute): string => {
  const where =
    route.backend === 'native'
      ? "Dawn found no Vulkan, Metal or D3D12 adapter (on Linux it needs the Vulkan loader, Debian's libvulkan1, and the GPU vendor's Vulkan driver: for NVIDIA the driver's Vulkan ICD, which containers get with NVIDIA_DRIVER_CAPABILITIES including graphics)"
      : route.backend === 'opengles' || route.backend === 'opengl'
        ? `Dawn's ${route.backend} backend found no adapter (Dawn loads libEGL.so and needs an OpenGL ES 3.1 driver behind it: on Debian, apt-get install libegl-dev libegl-mesa0 libgl1-mesa-dri for Mesa's software llvmpipe; without a display the process environment must hold EGL_PLATFORM=surfaceless, set by the application before the first load)`
        : `Dawn's ${route.backend} backend found no adapter on this machine`;
  return `webgpu (${route.backend}): ${where}`;
};

function describeAdapter(route: AdapterRoute, info: GpuAdapterInfo): string {
  const name = [info.vendor, info.architecture, info.device].filter((s) => s !== undefined && s !== '').join(' ');
  const parts = [route.backend === 'native' ? 'native' : route.backend, name || 'unnamed adapter'];
  if (info.description !== undefined && info.description !== '') parts.push(info.description);
  if (route.featureLevel === 'compatibility') parts.push('compatibility mode');
  if (SOFTWARE.test(`${info.device ?? ''} ${info.description ?? ''}`)) parts.push('software adapter');
  return parts.join(', ');
}

async function openOn(tf: Tf, tfWebgpu: TfWebgpuModule, dawn: DawnModule, route: AdapterRoute): Promise<E.Either<string, WebgpuDevice>> {
  let gpu: Gpu;
  let adapter: GpuAdapter | null;
  try {
    gpu = dawnInstance(dawn, route);
    adapter = await gpu.requestAdapter({ featureLevel: route.featureLevel, powerPreference: 'high-performance' });
  } catch (cause) {
    return E.left(`webgpu (${route.backend}): Dawn failed (${firstLine(cause)})`);
  }
  if (adapter === null) return E.left(noAdapter(route));
  const requiredLimits: Record<string, number> = {};
  for (const name of TFJS_LIMITS) {
    const v = adapter.limits[name];
    if (v !== undefined) requiredLimits[name] = v;
  }
  let device: GpuDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [] });
  } catch (cause) {
    return E.left(`webgpu (${route.backend}): the adapter refused a device (${firstLine(cause)})`);
  }
  let lostReason: string | undefined;
  let errors: string[] = [];
  void device.lost.then((info) => {
    lostReason = `${info.reason}: ${info.message}`;
  });
  device.addEventListener('uncapturederror', (event) => {
    if (errors.length < 10) errors.push(firstLine(event.error.message));
  });
  const info = adapter.info;
  installGlobals(dawn, gpu);
  // One 'webgpu' backend per process in tfjs: a new device replaces the factory of a lost one.
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new tfWebgpu.WebGPUBackend(device, info) as ReturnType<Parameters<Tf['registerBackend']>[1]>);
  try {
    if (!(await tf.setBackend('webgpu'))) return E.left(`webgpu (${route.backend}): tfjs's webgpu backend did not initialise on ${describeAdapter(route, info)}`);
  } catch (cause) {
    return E.left(`webgpu (${route.backend}): tfjs's webgpu backend failed (${firstLine(cause)})`);
  }
  return E.right({
    tf,
    label: `tfjs ${tf.version['tfjs-core'] ?? '?'} (webgpu: ${describeAdapter(route, info)})`,
    health: {
      lost: () => lostReason,
      takeErrors: () => {
        const e = errors;
        errors = [];
        return e;
      },
    },
    skipped: [],
    destroy: () => device.destroy(),
  });
}

/** Opens a GPU device on the first route that gives an adapter; the Left says why none did. */
export async function openWebgpu(tf: Tf, routes: readonly AdapterRoute[]): Promise<E.Either<string, WebgpuDevice>> {
  const packages = loadPackages();
  if (E.isLeft(packages)) return packages;
  let dawn: DawnModule;
  try {
    dawn = await packages.right.dawn;
  } catch (cause) {
    return E.left(notInstalled(cause) ? `webgpu: not installed (${installHint})` : `webgpu: dawn.node failed to load (${firstLine(cause)})`);
  }
  const skipped: string[] = [];
  for (const route of routes) {
    const opened = await openOn(tf, packages.right.tfWebgpu, dawn, route);
    if (E.isRight(opened)) return E.right({ ...opened.right, skipped });
    skipped.push(opened.left);
  }
  return E.left(skipped.join('; '));
}
