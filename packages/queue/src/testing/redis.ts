import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A private redis-server for one test file: its own free port on 127.0.0.1 and its own temp dir. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** SIGKILL: Redis is gone at once, with everything in memory (no persistence is configured). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty, after kill()). */
  start(): Promise<void>;
  /** Stops it and removes its dir. */
  stop(): Promise<void>;
  /** Runs one Redis command on it (a test that edits the queue's data as an intruder would). */
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** A free TCP port on 127.0.0.1, as the OS hands out (never Redis's default 6379). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port === 0 || port === 6379 ? freePort().then(resolve, reject) : resolve(port)));
    });
  });

const redisServerBinary = (): string => {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error('redis-server is not installed; the queue tests start their own: install it (Debian/Ubuntu: apt-get install -y redis-server)');
  }
  return path;
};

async function waitForPing(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} while starting on port ${port}`);
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer on port ${port} within ${timeoutMs} ms`);
}

/** Starts redis-server (no persistence, bound to 127.0.0.1) on a free port in a temp dir. */
export async function startTestRedis(): Promise<TestRedis> {
  const binary = redisServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'densepure-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const launch = async (): Promise<void> => {
    const c = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'], {
      stdio: 'ignore',
    });
    child = c;
    await waitForPing(port, c, 10_000);
  };
  const killNow = async (): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    kill: killNow,
    start: launch,
    stop: async () => {
      await killNow();
      rmSync(dir, { recursive: true, force: true });
    },
    call: async (command, ...args) => {
      const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return await client.call(command, ...args);
      } finally {
        client.disconnect();
      }
    },
  };
}
