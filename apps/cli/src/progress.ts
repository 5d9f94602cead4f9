import cliProgress from 'cli-progress';
import { type CertifyRow, formatDuration } from '@densepure/runner';

export interface Progress {
  /** Draws finished for the current image. */
  draws(done: number): void;
  image(row: CertifyRow): void;
  stop(): void;
}

/**
 * Progress on stderr: a bar with ETA (cli-progress) when stderr is a TTY, one plain line per image otherwise
 * (logs, CI). ETA counts draws, so it moves within an image too.
 */
export function createProgress(mode: 'auto' | 'none', totalImages: number, alreadyDone: number, drawsPerImage: number): Progress {
  if (mode === 'none') return { draws: () => undefined, image: () => undefined, stop: () => undefined };
  const started = performance.now();
  let imagesDone = alreadyDone;
  const newImages = (): number => imagesDone - alreadyDone;
  const eta = (fractionOfCurrent: number): number => {
    const elapsed = (performance.now() - started) / 1000;
    const progressed = newImages() + fractionOfCurrent;
    return progressed <= 0 ? Number.NaN : (elapsed / progressed) * (totalImages - imagesDone - fractionOfCurrent);
  };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'certify |{bar}| {value}/{total} images | draws {draws}/{drawTotal} | ETA {etaText} | last: {last}', hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalImages, alreadyDone, { draws: 0, drawTotal: drawsPerImage, etaText: '?', last: '-' });
    return {
      draws: (done) => bar.update(imagesDone, { draws: done, etaText: formatDuration(eta(done / drawsPerImage)) }),
      image: (row) => {
        imagesDone += 1;
        bar.update(imagesDone, { draws: 0, etaText: formatDuration(eta(0)), last: `idx ${row.idx} ${row.predict === -1 ? 'abstain' : `pred ${row.predict} r=${row.radius.toFixed(3)}`}` });
      },
      stop: () => bar.stop(),
    };
  }
  return {
    draws: () => undefined,
    image: (row) => {
      imagesDone += 1;
      process.stderr.write(
        `[${imagesDone}/${totalImages}] idx ${row.idx} label ${row.label} predict ${row.predict} radius ${row.radius.toFixed(3)} correct ${row.correct} (${row.seconds.toFixed(1)}s, ETA ${formatDuration(eta(0))})\n`,
      );
    },
    stop: () => undefined,
  };
}
