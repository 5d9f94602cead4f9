import { either as E, taskEither as TE } from 'fp-ts';
import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { type QueueError, describeCause } from './errors.js';

/** Where the queue lives: a parsed redis:// or rediss:// URL. */
export interface QueueConnection {
  /** The URL as given, without its password (safe to print). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
}

/** Parses `redis://[user:password@]host[:port][/db]` (or rediss:// for TLS). */
export function parseQueueUrl(url: string): E.Either<QueueError, QueueConnection> {
  const bad = (why: string): E.Either<QueueError, QueueConnection> =>
    E.left({ kind: 'queue-url-invalid', url, message: `queue address ${JSON.stringify(url)} ${why}; write it as redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0` });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return bad('is not a URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') return bad(`has scheme ${parsed.protocol.replace(/:$/, '')}, not redis or rediss`);
  if (parsed.hostname === '') return bad('names no host');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || !/^\d*$/.test(dbText)) return bad(`has database ${JSON.stringify(dbText)}, not a whole number`);
  if (parsed.search !== '' || parsed.hash !== '') return bad('has a query or fragment, which is not understood');
  const safe = new URL(url);
  safe.password = '';
  return E.right({
    url: safe.toString(),
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    tls: parsed.protocol === 'rediss:',
  });
}

/**
 * ioredis options for a long-lived connection (BullMQ workers need maxRetriesPerRequest null): commands wait
 * while Redis is away and the client reconnects every `reconnectMs` (capped), so a Redis restart is survived.
 * How long an outage is tolerated is the caller's watchdog's business, not the client's.
 */
export function redisOptions(c: QueueConnection, extra: RedisOptions = {}): RedisOptions {
  return {
    host: c.host,
    port: c.port,
    db: c.db,
    ...(c.username === undefined ? {} : { username: c.username }),
    ...(c.password === undefined ? {} : { password: c.password }),
    ...(c.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
    ...extra,
  };
}

/** What a program that is not Redis did with our PING, in words (ioredis's own messages speak of its internals). */
function notRedisReply(why: string): string {
  const protocol = /Protocol error, got "(.*?)" as reply type byte/.exec(why);
  if (protocol !== null) return `answered in another protocol (a reply starting with ${JSON.stringify(protocol[1])}${protocol[1] === 'H' ? ': an HTTP server?' : ''})`;
  if (/Stream isn't writeable|Connection is closed/i.test(why)) return 'closed the connection instead of answering as Redis does';
  return `does not answer as Redis (${why})`;
}

/** A server's refusal of `SELECT db`: the address names a database the server does not have. */
const isDbOutOfRange = (cause: unknown): boolean => /DB index is out of range/i.test(describeCause(cause));

/**
 * Connects once, without retrying, pings and selects the address's database: an unreachable Redis (nothing
 * listening, wrong host, wrong password), something else on the port (an HTTP server) or a database the server
 * does not have becomes a clear error within `timeoutMs` instead of an endless reconnect loop or, for the
 * database, a silent fall back to database 0.
 */
export function probeRedis(c: QueueConnection, timeoutMs = 3000): TE.TaskEither<QueueError, { readonly version: string }> {
  return async () => {
    // db 0 here: the database is selected below, where its refusal can be told apart from a connection failure.
    const client = new Redis(
      redisOptions(c, { db: 0, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false }),
    );
    let lastError: unknown = null;
    let socketOpen = false;
    client.on('error', (e) => {
      lastError = e; // the rejection below often says only "Connection is closed"; this says why
    });
    client.on('connect', () => {
      socketOpen = true;
    });
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref());
    try {
      await Promise.race([client.connect(), timer]);
      await Promise.race([client.ping(), timer]);
      const info = await Promise.race([client.info('server'), timer]);
      const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
      try {
        await Promise.race([client.select(c.db), timer]);
      } catch (cause) {
        if (!isDbOutOfRange(cause)) throw cause;
        const configured = await Promise.race([client.config('GET', 'databases'), timer]).then(
          (v) => Number((v as string[])[1]),
          () => Number.NaN,
        );
        const has = Number.isInteger(configured) ? `it has databases 0 to ${configured - 1}` : 'its `databases` setting (16 by default) is lower';
        return E.left({
          kind: 'queue-url-invalid',
          url: c.url,
          message: `Redis at ${c.url} has no database ${c.db}: ${has}; name one of them in the address (redis://HOST:PORT/DB), or raise \`databases\` in redis.conf`,
        });
      }
      return E.right({ version });
    } catch (cause) {
      const why = describeCause(lastError ?? cause);
      // The TCP connection opened but no Redis reply came back: another program listens on that port.
      const notRedis = socketOpen && !/NOAUTH|WRONGPASS|invalid password|no answer within/i.test(why);
      return E.left({
        kind: 'queue-unreachable',
        url: c.url,
        message: notRedis
          ? `cannot reach Redis at ${c.url}: something listens on ${c.host}:${c.port} but ${notRedisReply(why)}; check the port, or start redis-server there (see the queue README)`
          : `cannot reach Redis at ${c.url}: ${why}; start redis-server there (see the queue README) or correct the address`,
      });
    } finally {
      client.disconnect();
    }
  };
}
