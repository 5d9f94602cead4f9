import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { parseQueueUrl } from './connection.js';

describe('queue address', () => {
  it('parses redis:// URLs and hides the password', () => {
    const c = parseQueueUrl('redis://user:s3cret@10.0.0.5:6380/2');
    expect(E.isRight(c) && c.right).toMatchObject({ host: '10.0.0.5', port: 6380, db: 2, username: 'user', password: 's3cret', tls: false });
    expect(E.isRight(c) && c.right.url).not.toContain('s3cret');
    expect(E.isRight(parseQueueUrl('rediss://h')) && parseQueueUrl('rediss://h')).toMatchObject({ right: { port: 6379, db: 0, tls: true } });
  });

  it('explains what is wrong with a bad address', () => {
    for (const bad of ['localhost:6379', 'http://h:1/0', 'redis://h:1/x', 'redis://h:1/0?a=1']) {
      const r = parseQueueUrl(bad);
      expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'queue-url-invalid' });
      expect(E.isLeft(r) && r.left.message).toContain('redis://HOST:PORT/DB');
    }
  });
});
