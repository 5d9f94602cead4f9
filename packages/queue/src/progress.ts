/** One worker's share of the run so far (as seen by the coordinator in this session). */
export interface WorkerThroughput {
  readonly worker: string;
  readonly jobs: number;
  /** Summed compute time of its jobs, seconds. */
  readonly computeSeconds: number;
  /** Jobs per second since it delivered its first job (counting that job's compute time). */
  readonly jobsPerSecond: number;
}

/** Progress across the cluster: what is done of what, how fast each worker goes, when it should end. */
export interface ClusterProgress {
  readonly itemsDone: number;
  readonly itemsTotal: number;
  readonly jobsDone: number;
  readonly jobsTotal: number;
  readonly elapsedSeconds: number;
  /** Jobs per second over the whole cluster in this session. */
  readonly jobsPerSecond: number;
  /** Seconds to the last job at the current rate; null before the first job of this session. */
  readonly etaSeconds: number | null;
  readonly workers: readonly WorkerThroughput[];
}

interface WorkerTally {
  jobs: number;
  computeSeconds: number;
  startedAt: number;
}

/** Counts finished jobs and items against the run's totals (a resumed run starts with what was done before). */
export class ClusterMeter {
  private readonly workers = new Map<string, WorkerTally>();
  private jobsDone: number;
  private itemsDone: number;
  private jobsThisSession = 0;

  constructor(
    private readonly itemsTotal: number,
    private readonly jobsTotal: number,
    itemsDoneBefore: number,
    jobsDoneBefore: number,
    private readonly startedAt: number,
  ) {
    this.itemsDone = itemsDoneBefore;
    this.jobsDone = jobsDoneBefore;
  }

  /** A job's result arrived (`now` in ms, `seconds` its compute time). */
  jobDone(worker: string, seconds: number, now: number): void {
    this.jobsDone += 1;
    this.jobsThisSession += 1;
    const w = this.workers.get(worker) ?? { jobs: 0, computeSeconds: 0, startedAt: Math.max(this.startedAt, now - seconds * 1000) };
    w.jobs += 1;
    w.computeSeconds += seconds;
    this.workers.set(worker, w);
  }

  itemDone(): void {
    this.itemsDone += 1;
  }

  snapshot(now: number): ClusterProgress {
    const elapsedSeconds = Math.max(1e-3, (now - this.startedAt) / 1000);
    const jobsPerSecond = this.jobsThisSession / elapsedSeconds;
    const remaining = this.jobsTotal - this.jobsDone;
    return {
      itemsDone: this.itemsDone,
      itemsTotal: this.itemsTotal,
      jobsDone: this.jobsDone,
      jobsTotal: this.jobsTotal,
      elapsedSeconds,
      jobsPerSecond,
      etaSeconds: remaining <= 0 ? 0 : this.jobsThisSession === 0 ? null : remaining / jobsPerSecond,
      workers: [...this.workers.entries()]
        .map(([worker, w]) => ({ worker, jobs: w.jobs, computeSeconds: w.computeSeconds, jobsPerSecond: w.jobs / Math.max(1e-3, (now - w.startedAt) / 1000) }))
        .sort((a, b) => (a.worker < b.worker ? -1 : 1)),
    };
  }
}

const duration = (s: number | null): string => {
  if (s === null || !Number.isFinite(s)) return '?';
  const r = Math.round(s);
  return r >= 3600 ? `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m` : r >= 60 ? `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s` : `${r}s`;
};

/** A rate as people read it: "2.50 jobs/s" when fast, "40.0 s/job" when slow. */
const rate = (perSecond: number): string => (perSecond >= 1 || perSecond === 0 ? `${perSecond.toFixed(2)} jobs/s` : `${(1 / perSecond).toFixed(1)} s/job`);

/** One line for logs: "12/100 images, 30/250 jobs, 1.25 jobs/s, ETA 3m00s; w1 1.43 s/job (14), w2 1.82 s/job (16)". */
export const formatClusterProgress = (p: ClusterProgress): string =>
  `${p.itemsDone}/${p.itemsTotal} images, ${p.jobsDone}/${p.jobsTotal} jobs, ${rate(p.jobsPerSecond)}, ETA ${duration(p.etaSeconds)}` +
  (p.workers.length === 0 ? '' : `; ${p.workers.map((w) => `${w.worker} ${rate(w.jobsPerSecond)} (${w.jobs})`).join(', ')}`);
