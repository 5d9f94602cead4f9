// A small improved-diffusion-style UNet built in code as ONNX, shaped like torch.onnx's export (opset 17,
// dynamic batch): sinusoidal timestep embedding (Cast/Mul/Cos/Sin/Concat), GroupNorm as
// Reshape + InstanceNormalization + Reshape(Shape), SiLU as Sigmoid*x, scale-shift from the embedding,
// a strided-conv downsample, attention (Conv1d qkv, Slice chunks, Einsum, Softmax), nearest Resize upsample,
// a skip Concat. Used by the tests and, when the shipped model is absent, by the bench.
import { sha256Hex } from '@densepure/backend';
import { type InitializerSpec, type NodeSpec, buildOnnxModel } from '@densepure/backend/testing';

export interface UnetGraphOptions {
  readonly imageSize?: number;
  readonly channels?: number;
  readonly seed?: number;
}

const rand = (n: number, seed: number, scale: number): number[] => {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return scale * (2 * (s / 2 ** 32) - 1);
  });
};

/** ONNX bytes of the UNet-like denoiser: x float32[B,1,S,S], t int64[B] -> out float32[B,2,S,S]. */
export function unetLikeOnnx(options: UnetGraphOptions = {}): Uint8Array {
  const S = options.imageSize ?? 8;
  const C = options.channels ?? 8;
  const G = 2;
  let seed = options.seed ?? 7;
  const inits: InitializerSpec[] = [];
  const nodes: NodeSpec[] = [];
  const w = (name: string, dims: number[], fanIn: number): string => {
    inits.push({ name, type: 'float32', dims, values: rand(dims.reduce((a, b) => a * b, 1), seed++, 1 / Math.sqrt(fanIn)) });
    return name;
  };
  const i64 = (name: string, values: number[], dims = [values.length]): string => {
    inits.push({ name, type: 'int64', dims, values });
    return name;
  };
  const fconst = (name: string, values: number[], dims = [values.length]): string => {
    inits.push({ name, type: 'float32', dims, values });
    return name;
  };
  const node = (op: string, inputs: string[], output: string, attrs?: NodeSpec['attrs']): string => {
    nodes.push({ op, inputs, outputs: [output], ...(attrs === undefined ? {} : { attrs }) });
    return output;
  };
  let uid = 0;
  const tmp = (p: string): string => `${p}_${uid++}`;
  const silu = (x: string): string => node('Mul', [x, node('Sigmoid', [x], tmp('sig'))], tmp('silu'));
  const groupNorm = (x: string, ch: number): string => {
    const g = node('Reshape', [x, i64(tmp('gshape'), [0, G, -1])], tmp('g'));
    const n = node('InstanceNormalization', [g, fconst(tmp('one'), new Array(G).fill(1)), fconst(tmp('zero'), new Array(G).fill(0))], tmp('in'), { epsilon: 1e-5 });
    const back = node('Reshape', [n, node('Shape', [x], tmp('shape'))], tmp('gb'));
    return node('Add', [node('Mul', [back, w(tmp('gw'), [ch, 1, 1], 1)], tmp('gm')), w(tmp('gbias'), [ch, 1, 1], 1)], tmp('gn'));
  };
  const conv = (x: string, cin: number, cout: number, k = 3, stride = 1): string =>
    node('Conv', [x, w(tmp('cw'), [cout, cin, k, k], cin * k * k), w(tmp('cb'), [cout], cin * k * k)], tmp('conv'), {
      kernel_shape: [k, k],
      pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0],
      strides: [stride, stride],
    });
  const gemm = (x: string, cin: number, cout: number): string =>
    node('Gemm', [x, w(tmp('lw'), [cout, cin], cin), w(tmp('lb'), [cout], cin)], tmp('lin'), { transB: 1 });

  // timestep embedding
  const half = C / 2;
  const freqs = fconst('freqs', Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half)), [1, half]);
  const tf = node('Cast', ['t'], 'tf', { to: 1 });
  const args = node('Mul', [node('Unsqueeze', [tf, i64('ax1', [1])], 'tu'), freqs], 'args');
  const sincos = node('Concat', [node('Cos', [args], 'cos'), node('Sin', [args], 'sin')], 'sincos', { axis: 1 });
  const emb = gemm(silu(gemm(sincos, C, 4 * C)), 4 * C, 4 * C);

  const resblock = (x: string, cin: number, cout: number): string => {
    let h = conv(silu(groupNorm(x, cin)), cin, cout);
    const e = gemm(silu(emb), 4 * C, 2 * cout);
    const e4 = node('Unsqueeze', [e, i64(tmp('ax23'), [2, 3])], tmp('e4'));
    const scale = node('Slice', [e4, i64(tmp('s0'), [0]), i64(tmp('s1'), [cout]), i64(tmp('a'), [1])], tmp('scale'));
    const shift = node('Slice', [e4, i64(tmp('s1'), [cout]), i64(tmp('s2'), [2 ** 62]), i64(tmp('a'), [1])], tmp('shift'));
    h = node('Add', [node('Mul', [groupNorm(h, cout), node('Add', [scale, fconst(tmp('one'), [1], [])], tmp('s1p'))], tmp('hs')), shift], tmp('hss'));
    h = conv(silu(h), cout, cout);
    const skip = cin === cout ? x : conv(x, cin, cout, 1);
    return node('Add', [skip, h], tmp('res'));
  };

  const attention = (x: string, ch: number): string => {
    // b, c, h*w from the runtime shape, as torch exports x.reshape(b, c, hw)
    const shape = node('Shape', [x], tmp('ashape'));
    const b = node('Unsqueeze', [node('Gather', [shape, i64(tmp('i0'), [0], [])], tmp('b'), { axis: 0 }), i64(tmp('ax0'), [0])], tmp('bu'));
    const flatShape = node('Concat', [b, i64(tmp('chw'), [ch, -1])], tmp('fshape'), { axis: 0 });
    const flat = node('Reshape', [groupNorm(x, ch), flatShape], tmp('flat'));
    const qkv = node('Conv', [flat, w(tmp('qkvw'), [3 * ch, ch, 1], ch), w(tmp('qkvb'), [3 * ch], ch)], tmp('qkv'), { kernel_shape: [1] });
    const part = (k: number): string => node('Slice', [qkv, i64(tmp('ps'), [k * ch]), i64(tmp('pe'), [(k + 1) * ch]), i64(tmp('pa'), [1])], tmp('part'));
    const scale = fconst(tmp('qs'), [1 / Math.sqrt(Math.sqrt(ch))], []);
    const q = node('Mul', [part(0), scale], tmp('q'));
    const k = node('Mul', [part(1), scale], tmp('k'));
    const wts = node('Softmax', [node('Einsum', [q, k], tmp('qk'), { equation: 'bct,bcs->bts' })], tmp('wts'), { axis: -1 });
    const a = node('Einsum', [wts, part(2)], tmp('av'), { equation: 'bts,bcs->bct' });
    const proj = node('Conv', [a, w(tmp('pw'), [ch, ch, 1], ch), w(tmp('pb'), [ch], ch)], tmp('proj'), { kernel_shape: [1] });
    return node('Add', [x, node('Reshape', [proj, shape], tmp('pr'))], tmp('attn'));
  };

  const h0 = conv('x', 1, C);
  const h1 = resblock(h0, C, C);
  const d = conv(h1, C, C, 3, 2);
  const mid = attention(resblock(d, C, 2 * C), 2 * C);
  const up = conv(node('Resize', [mid, '', fconst('upscale', [1, 1, 2, 2])], 'up', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }), 2 * C, C);
  const cat = node('Concat', [up, h1], 'cat', { axis: 1 });
  const h2 = resblock(cat, 2 * C, C);
  nodes.push({ op: 'Conv', inputs: [silu(groupNorm(h2, C)), w('outw', [2, C, 3, 3], 9 * C), w('outb', [2], 9 * C)], outputs: ['out'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });

  return buildOnnxModel({
    name: 'unet-like',
    inputs: [
      { name: 'x', type: 'float32', shape: ['B', 1, S, S] },
      { name: 't', type: 'int64', shape: ['B'] },
    ],
    outputs: [{ name: 'out', type: 'float32', shape: ['B', 2, S, S] }],
    initializers: inits,
    nodes,
    floatAttrs: ['epsilon'],
  });
}

/** A denoiser manifest for {@link unetLikeOnnx} bytes stored as `file`. */
export function unetLikeManifest(file: string, bytes: Uint8Array, imageSize = 8): Record<string, unknown> {
  return {
    schemaVersion: 1,
    kind: 'denoiser',
    name: 'unet-like',
    format: 'onnx',
    file,
    sha256: sha256Hex(bytes),
    sizeBytes: bytes.length,
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['B', 1, imageSize, imageSize] },
      { name: 't', dtype: 'int64', shape: ['B'] },
    ],
    outputs: [{ name: 'out', dtype: 'float32', shape: ['B', 2, imageSize, imageSize] }],
    imageSize,
    channels: 1,
    valueRange: [-1, 1],
    diffusion: { schedule: 'linear', T: 1000, prediction: 'epsilon', learnedVariance: true },
  };
}
