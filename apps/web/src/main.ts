// The page: a digit (drawn, uploaded or shipped), the CLI's certify settings, and the worker's rounds drawn as
// they come. Every failure (a bad file, models that do not load, a setting out of range, a worker that dies)
// ends in a message on the page and the buttons usable again.
import { either as E } from 'fp-ts';
import { type Dataset, parseDpds } from '@densepure/datasets/portable';
import { METHOD_KINDS, METHOD_SETTINGS, type MethodKind } from '@densepure/voting';
import { type BoundPoint, drawBound, drawHistogram } from './charts.js';
import { fileImage, makePad, padImage, paintGrey } from './digit.js';
import type { CertifyRequest, FromWorker, ToWorker } from './protocol.js';
import { showTheory } from './theory.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const zooUrl = new URL('zoo/', document.baseURI).href;

function say(id: string, text: string | null): void {
  const box = $(id);
  box.textContent = text ?? '';
  box.hidden = text === null;
}

// ---- tabs
const tabs = { certify: $('tab-certify'), theory: $('tab-theory') };
let theoryShown = false;
for (const [name, tab] of Object.entries(tabs)) {
  tab.addEventListener('click', () => {
    for (const [other, t] of Object.entries(tabs)) {
      t.setAttribute('aria-selected', String(other === name));
      $(`view-${other}`).hidden = other !== name;
    }
    if (name === 'theory' && !theoryShown) {
      theoryShown = true;
      showTheory();
    }
  });
}

// ---- the digit
interface Digit {
  readonly image: Float32Array;
  readonly idx: number;
  readonly label: number | null;
  readonly what: string;
}
let digit: Digit | null = null;
let dataset: Dataset | null = null;
const pad = makePad($('pad'), () => {
  digit = { image: padImage($('pad')), idx: 0, label: null, what: 'your drawing (RNG address: image 0)' };
  say('input-error', null);
  for (const t of document.querySelectorAll('#thumbs canvas')) t.classList.remove('picked');
});

function useShipped(idx: number): void {
  if (dataset === null) return say('input-error', 'the shipped test digits are not loaded (see the message above)');
  if (!Number.isInteger(idx) || idx < 0 || idx >= dataset.size) return say('input-error', `no shipped digit ${idx}: the test split holds indices 0 to ${dataset.size - 1}`);
  const sample = dataset.get(idx);
  digit = { image: sample.image, idx, label: sample.label, what: `shipped test digit ${idx} (label ${sample.label})` };
  pad.show(sample.image);
  ($('shipped-idx') as HTMLInputElement).value = String(idx);
  $('shipped-label').textContent = `label ${sample.label}`;
  say('input-error', null);
  for (const t of document.querySelectorAll<HTMLCanvasElement>('#thumbs canvas')) t.classList.toggle('picked', t.dataset.idx === String(idx));
}

$('clear').addEventListener('click', () => {
  pad.clear();
  digit = null;
});
$('use-shipped').addEventListener('click', () => useShipped(Number(($('shipped-idx') as HTMLInputElement).value)));
$('upload').addEventListener('change', async () => {
  const input = $('upload') as HTMLInputElement;
  const file = input.files?.[0];
  input.value = '';
  if (file === undefined) return;
  const read = await fileImage(file);
  if (E.isLeft(read)) return say('input-error', read.left);
  digit = { image: read.right, idx: 0, label: null, what: `${file.name} (RNG address: image 0)` };
  pad.show(read.right);
  say('input-error', null);
});

async function loadShipped(): Promise<void> {
  const url = new URL('data/mnist-test.bin', zooUrl).href;
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`the server answered ${response.status} for ${url}`);
    const parsed = parseDpds(new Uint8Array(await response.arrayBuffer()), url);
    if (E.isLeft(parsed)) throw new Error(parsed.left.message);
    dataset = parsed.right;
  } catch (cause) {
    return say('global-error', `The shipped test digits could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}. Draw or upload a digit instead.`);
  }
  const thumbs = $('thumbs');
  // The first test image of each class.
  for (let label = 0; label < dataset.numClasses; label++) {
    let idx = 0;
    while (idx < dataset.size && dataset.get(idx).label !== label) idx++;
    if (idx === dataset.size) continue;
    const c = document.createElement('canvas');
    c.className = 'pixels';
    c.dataset.idx = String(idx);
    c.title = `test digit ${idx} (label ${label})`;
    paintGrey(c, dataset.get(idx).image);
    c.addEventListener('click', () => useShipped(idx));
    thumbs.append(c);
  }
  useShipped(0);
}

// ---- settings: the methods and their settings come from the method table
const methodSelect = $('method') as HTMLSelectElement;
for (const kind of METHOD_KINDS) methodSelect.add(new Option(kind, kind, false, kind === 'dds'));
function showMethodSettings(): void {
  const kind = methodSelect.value as MethodKind;
  const box = $('method-settings');
  box.replaceChildren();
  for (const s of METHOD_SETTINGS.filter((s) => s.kinds.includes(kind))) {
    const label = document.createElement('label');
    label.title = s.description;
    label.append(`${s.name} `);
    let field: HTMLInputElement | HTMLSelectElement;
    if (s.choices !== undefined) {
      field = document.createElement('select');
      for (const c of s.choices) field.add(new Option(c, c, false, c === s.default));
    } else {
      field = document.createElement('input');
      field.type = typeof s.default === 'number' ? 'number' : 'text';
      field.value = s.default === undefined ? '' : String(s.default);
    }
    field.dataset.setting = s.name;
    label.append(field);
    box.append(label);
  }
}
methodSelect.addEventListener('change', showMethodSettings);
showMethodSettings();

const numberOf = (id: string): number => Number(($(id) as HTMLInputElement | HTMLSelectElement).value);
function methodSettings(): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const field of document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('#method-settings [data-setting]')) {
    const value = field.value.trim();
    if (value === '') continue;
    raw[field.dataset.setting!] = field instanceof HTMLInputElement && field.type === 'number' ? Number(value) : value;
  }
  return raw;
}

// ---- the worker
let worker: Worker | null = null;
let busy = false;
let maxRadius = 0.5;
let radii: readonly number[] = [];
let selection: readonly number[] | null = null;
let selectedLabel: number | null = null;
let points: BoundPoint[] = [];

function setBusy(value: boolean, ready = true): void {
  busy = value;
  ($('certify') as HTMLButtonElement).disabled = value || !ready;
  ($('stop') as HTMLButtonElement).disabled = !value;
}

function startWorker(): void {
  worker?.terminate();
  const device = ($('device') as HTMLSelectElement).value as 'wasm' | 'webgpu';
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<FromWorker>) => onReply(event.data);
  worker.onerror = (event) => {
    event.preventDefault();
    say('run-error', `The certify worker stopped: ${event.message || 'it could not start'}. Reload the page to try again.`);
    $('status').textContent = 'stopped';
    setBusy(false, false);
  };
  $('status').textContent = `loading the models (${device})…`;
  setBusy(false, false);
  worker.postMessage({ type: 'load', zooUrl, device } satisfies ToWorker);
}

function showSamples(samples: readonly Float32Array[], noisy: Float32Array): void {
  paintGrey($('noisy'), noisy);
  const box = $('samples');
  while (box.children.length < samples.length) {
    const c = document.createElement('canvas');
    c.className = 'pixels';
    box.append(c);
  }
  samples.forEach((s, i) => paintGrey(box.children[i] as HTMLCanvasElement, s));
}

function showNumbers(rows: [string, string][]): void {
  $('numbers').replaceChildren(
    ...rows.map(([k, v]) => {
      const tr = document.createElement('tr');
      tr.append(Object.assign(document.createElement('td'), { textContent: k }), Object.assign(document.createElement('td'), { textContent: v }));
      return tr;
    }),
  );
}

function onReply(reply: FromWorker): void {
  const result = $('result');
  switch (reply.type) {
    case 'loaded':
      $('runtime').textContent = reply.runtime;
      say('device-note', reply.note === null ? null : `WebGPU is not used: ${reply.note}.`);
      $('status').textContent = 'ready: pick a digit and press Certify';
      return setBusy(false);
    case 'load-error':
      say('global-error', `The models failed to load: ${reply.message}`);
      $('status').textContent = 'the models are not loaded';
      return setBusy(false, false);
    case 'settings-error':
      say('settings-error', reply.message);
      $('status').textContent = 'ready';
      return setBusy(false);
    case 'run-error':
      say('run-error', reply.message);
      $('status').textContent = 'stopped by an error';
      return setBusy(false);
    case 'started':
      radii = reply.radii;
      $('status').textContent = `${reply.description}${reply.tStar === null ? '' : `, t* = ${reply.tStar}`}: selection draws…`;
      return;
    case 'selection':
      selection = reply.counts;
      selectedLabel = reply.label;
      drawHistogram($('histogram') as HTMLCanvasElement, selection, null, selectedLabel);
      showSamples(reply.samples, reply.noisy);
      $('status').textContent = `selection picked class ${reply.label}; estimating…`;
      return;
    case 'round': {
      points.push({ n: reply.n, lower: reply.lower, radius: reply.radius });
      drawHistogram($('histogram') as HTMLCanvasElement, selection, reply.counts, selectedLabel);
      drawBound($('bound') as HTMLCanvasElement, points, numberOf('n'), maxRadius, radii);
      showSamples(reply.samples, reply.noisy);
      $('status').textContent = `round ${reply.rounds}: ${reply.n} draws, lower bound ${reply.lower.toFixed(4)}${reply.radius === null ? '' : `, radius ${reply.radius.toFixed(3)}`}`;
      return;
    }
    case 'done': {
      const certified = reply.radius !== null;
      result.textContent = certified ? `certified: class ${reply.label} within L2 radius ${reply.radius!.toFixed(6)}` : `abstain (the lower bound ${reply.lower.toFixed(4)} is not above 1/2)`;
      Object.assign(result.dataset, { done: 'true', label: String(reply.label), radius: String(reply.radius ?? 0), lower: String(reply.lower), estimation: String(reply.estimation) });
      showNumbers([
        ['stopped because', reply.stop],
        ['estimation draws', `${reply.estimation} in ${reply.rounds} rounds`],
        ['lower bound on pA', String(reply.lower)],
        ['model evaluations', `${reply.evaluations.denoiser} denoiser, ${reply.evaluations.classifier} classifier`],
        ['time', `${reply.seconds.toFixed(1)} s`],
      ]);
      $('status').textContent = 'done';
      return setBusy(false);
    }
  }
}

$('certify').addEventListener('click', () => {
  if (worker === null || busy) return;
  say('settings-error', null);
  say('run-error', null);
  if (digit === null) return say('input-error', 'no digit yet: draw one on the pad, upload a 28 × 28 image, or pick a shipped one');
  maxRadius = numberOf('max-radius');
  selection = null;
  selectedLabel = null;
  points = [];
  const result = $('result');
  result.textContent = '';
  result.dataset.done = 'false';
  $('numbers').replaceChildren();
  const request: CertifyRequest = {
    type: 'certify',
    image: digit.image,
    idx: digit.idx,
    label: digit.label,
    sigma: numberOf('sigma'),
    method: methodSelect.value,
    settings: methodSettings(),
    n0: numberOf('n0'),
    n: numberOf('n'),
    alpha: numberOf('alpha'),
    maxRadius,
    seed: numberOf('seed'),
    batch: numberOf('batch'),
  };
  $('status').textContent = `certifying ${digit.what}…`;
  setBusy(true);
  worker.postMessage(request);
});
// Stopping ends the worker mid-round (a model call cannot be interrupted) and starts a fresh one.
$('stop').addEventListener('click', () => {
  startWorker();
  $('status').textContent = 'stopped; reloading the models…';
});
$('device').addEventListener('change', startWorker);

startWorker();
void loadShipped();
