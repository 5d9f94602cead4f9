// tfjs model folders (model.json + weight shards) read and written with node:fs, so loading needs no
// tfjs-node (whose file:// handler is the usual way) and no fetch.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { io } from '@tensorflow/tfjs';

interface ModelJson {
  readonly modelTopology?: unknown;
  readonly weightsManifest?: readonly { readonly paths: readonly string[]; readonly weights: readonly io.WeightsManifestEntry[] }[];
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string | null;
  readonly signature?: unknown;
  readonly userDefinedMetadata?: Record<string, unknown>;
  readonly modelInitializer?: unknown;
  readonly trainingConfig?: unknown;
}

const concat = (parts: readonly Uint8Array[]): ArrayBuffer => {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
};

/** An io.IOHandler that loads `model.json` and the weight shards it lists (paths relative to it). */
export function fileLoadHandler(modelJsonPath: string): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as ModelJson;
      if (json.modelTopology === undefined || json.modelTopology === null) {
        throw new Error(`${modelJsonPath} has no modelTopology: not a tfjs model.json`);
      }
      const specs: io.WeightsManifestEntry[] = [];
      const shards: Uint8Array[] = [];
      for (const group of json.weightsManifest ?? []) {
        for (const p of group.paths) shards.push(await readFile(join(dirname(modelJsonPath), p)));
        specs.push(...group.weights);
      }
      const artifacts: io.ModelArtifacts = {
        modelTopology: json.modelTopology as io.ModelArtifacts['modelTopology'],
        weightSpecs: specs,
        weightData: concat(shards),
        ...(json.format === undefined ? {} : { format: json.format }),
        ...(json.generatedBy === undefined ? {} : { generatedBy: json.generatedBy }),
        ...(json.convertedBy === undefined || json.convertedBy === null ? {} : { convertedBy: json.convertedBy }),
        ...(json.signature === undefined ? {} : { signature: json.signature as object }),
        ...(json.userDefinedMetadata === undefined ? {} : { userDefinedMetadata: json.userDefinedMetadata as Record<string, object> }),
        ...(json.modelInitializer === undefined ? {} : { modelInitializer: json.modelInitializer as object }),
        ...(json.trainingConfig === undefined ? {} : { trainingConfig: json.trainingConfig as io.TrainingConfig }),
      };
      return artifacts;
    },
  };
}

/** An io.IOHandler that saves to `dir/model.json` + `dir/weights.bin` (used by tests and model tooling). */
export function fileSaveHandler(dir: string): io.IOHandler {
  return {
    save: async (artifacts: io.ModelArtifacts): Promise<io.SaveResult> => {
      await mkdir(dir, { recursive: true });
      const data = artifacts.weightData;
      const weights = data === undefined ? new Uint8Array() : Array.isArray(data) ? new Uint8Array(concat(data.map((b) => new Uint8Array(b)))) : new Uint8Array(data as ArrayBuffer);
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        ...(artifacts.signature === undefined ? {} : { signature: artifacts.signature }),
        ...(artifacts.userDefinedMetadata === undefined ? {} : { userDefinedMetadata: artifacts.userDefinedMetadata }),
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(join(dir, 'model.json'), JSON.stringify(json));
      await writeFile(join(dir, 'weights.bin'), weights);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology ?? null).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}
