import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { COHEN_HEADER, certifiedAccuracy, formatElapsed, formatRow, parseCohenTsv as parseEither, parseElapsed, summarize } from './tsv.js';

// The reader returns Either; these tests read its Right, and a Left as the thrown message it stands for.
const parseCohenTsv = (text: string, source?: string) => {
  const r = parseEither(text, source);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('Cohen TSV', () => {
  it("formats time like Python's str(timedelta)", () => {
    expect(formatElapsed(1.5)).toBe('0:00:01.500000');
    expect(formatElapsed(3723)).toBe('1:02:03');
    expect(parseElapsed('1:02:03.500000')).toBeCloseTo(3723.5, 9);
    expect(parseElapsed('2 days, 0:00:01')).toBe(172801);
  });

  it('round-trips rows and drops a torn last line', () => {
    const rows = [
      { idx: 0, label: 7, predict: 7, radius: 0.5234567, correct: 1 as const, seconds: 1.25 },
      { idx: 1, label: 2, predict: -1, radius: 0, correct: 0 as const, seconds: 0.5 },
    ];
    const text = `${COHEN_HEADER}\n${rows.map(formatRow).join('\n')}\n`;
    const parsed = parseCohenTsv(`${text}2\t1\t1\t0.3`);
    expect(parsed.rows).toHaveLength(2);
    expect(parsed.rows[0]!.radius).toBeCloseTo(0.523457, 6);
    expect(parsed.completeBytes).toBe(Buffer.byteLength(text));
  });

  it("reads Cohen's own files (3 significant digits, timedelta times)", () => {
    const cohen = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t3\t3\t0.662\t1\t0:00:10.512402\n20\t8\t-1\t0.0\t0\t0:00:10.466052\n';
    const parsed = parseCohenTsv(cohen);
    expect(parsed.rows.map((r) => r.predict)).toEqual([3, -1]);
    expect(parsed.rows[0]!.seconds).toBeCloseTo(10.512402, 6);
  });

  it('refuses a file without the header and names a bad row', () => {
    expect(() => parseCohenTsv('a\tb\n', 'x.tsv')).toThrow(/x.tsv.*header/);
    expect(() => parseCohenTsv(`${COHEN_HEADER}\nfoo\tbar\t1\t2\t3\t0:00:01\n`, 'y.tsv')).toThrow(/y.tsv: line 2/);
  });
});

describe('certified accuracy (analyze.py semantics)', () => {
  // Hand-computed: 4 rows, correct with radii 0.9, 0.3, 0.0(abstain counts as incorrect), and one wrong.
  const rows = [
    { idx: 0, label: 1, predict: 1, radius: 0.9, correct: 1 as const, seconds: 1 },
    { idx: 1, label: 2, predict: 2, radius: 0.3, correct: 1 as const, seconds: 2 },
    { idx: 2, label: 3, predict: -1, radius: 0, correct: 0 as const, seconds: 3 },
    { idx: 3, label: 4, predict: 5, radius: 0.7, correct: 0 as const, seconds: 4 },
  ];
  it('counts correct rows with radius >= r over all rows', () => {
    expect(certifiedAccuracy(rows, 0)).toBe(0.5);
    expect(certifiedAccuracy(rows, 0.3)).toBe(0.5);
    expect(certifiedAccuracy(rows, 0.5)).toBe(0.25);
    expect(certifiedAccuracy(rows, 1.0)).toBe(0);
  });
  it('summarizes abstain rate and time', () => {
    const s = summarize(rows);
    expect(s.abstainRate).toBe(0.25);
    expect(s.meanSeconds).toBe(2.5);
    expect(s.certifiedAccuracy.map((c) => c.accuracy)).toEqual([0.5, 0.5, 0.25, 0.25, 0]);
  });
});
