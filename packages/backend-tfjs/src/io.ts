// tfjs model folders (model.json + weight shards): loaded from a resolved model's checked bytes, or read and
// written with node:fs (tooling, tests), so loading needs no tfjs-node (whose file:// handler is the usual way)
// and no fetch.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { either as E } from 'fp-ts';
import { type BackendError, type ResolvedModel, corruptModel, describeThrown, modelContract } from '@densepure/backend';
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

/** ModelArtifacts from a parsed model.json and its shards, in the order model.json lists them. */
function artifactsOf(json: ModelJson, shards: readonly Uint8Array[]): io.ModelArtifacts {
  const specs: io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest ?? []) specs.push(...group.weights);
  return {
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
}

const parseModelJson = (text: string, where: string): ModelJson => {
  const json = JSON.parse(text) as ModelJson;
  if (json.modelTopology === undefined || json.modelTopology === null) {
    throw new Error(`${where} has no modelTopology: not a tfjs model.json`);
  }
  return json;
};

const shardPaths = (json: ModelJson): string[] => (json.weightsManifest ?? []).flatMap((g) => [...g.paths]);

/**
 * An io.IOHandler that loads `model.json` and the weight shards it lists (paths relative to it) straight from
 * disk, unchecked: for tooling and tests. Backends load through {@link verifiedLoadHandler}.
 */
export function fileLoadHandler(modelJsonPath: string): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const json = parseModelJson(await readFile(modelJsonPath, 'utf8'), modelJsonPath);
      const shards: Uint8Array[] = [];
      for (const p of shardPaths(json)) shards.push(await readFile(join(dirname(modelJsonPath), p)));
      return artifactsOf(json, shards);
    },
  };
}

/**
 * An io.IOHandler over a resolved model's checked bytes: model.json from `modelBytes`, every shard it lists from
 * `weightFiles` (which resolveModel checked against the manifest's sizes and sha256). A shard the manifest does
 * not cover, or a covered file model.json does not use, is a model-contract error: every byte that changes a
 * number is then covered by the manifest, and through it by a run's identity.
 */
export function verifiedLoadHandler(model: ResolvedModel): E.Either<BackendError, io.IOHandler> {
  const path = model.modelPath;
  let json: ModelJson;
  try {
    json = parseModelJson(new TextDecoder().decode(model.modelBytes), path);
  } catch (cause) {
    return E.left(corruptModel(path, `not a tfjs model.json (${describeThrown(cause).split('\n')[0]})`));
  }
  const paths = shardPaths(json).map((p) => posix.normalize(p));
  const uncovered = paths.filter((p) => !model.weightFiles.has(p));
  if (uncovered.length > 0) {
    return E.left(
      modelContract(
        path,
        `model.json lists weight file${uncovered.length === 1 ? '' : 's'} ${uncovered.map((p) => `'${p}'`).join(', ')} that the manifest ${model.manifestPath} does not cover: add each to its 'weights' with its sha256 and sizeBytes`,
      ),
    );
  }
  const unused = [...model.weightFiles.keys()].filter((k) => !paths.includes(k));
  if (unused.length > 0) {
    return E.left(modelContract(path, `the manifest ${model.manifestPath} lists weights ${unused.map((p) => `'${p}'`).join(', ')} that model.json does not use: remove them`));
  }
  const shards = paths.map((p) => model.weightFiles.get(p)!);
  const artifacts = artifactsOf(json, shards);
  return E.right({ load: async () => artifacts });
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
