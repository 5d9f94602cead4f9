import { describe, expect, it } from 'vitest';
import { majorityVote, voteHistogram, votesStillNeeded, votesToDecide } from './vote.js';

/** Every label sequence of `length` over `classes` classes, as digits of a counter. */
function* sequences(length: number, classes: number): Generator<number[]> {
  const s = new Array<number>(length).fill(0);
  for (;;) {
    yield s.slice();
    let i = length - 1;
    while (i >= 0 && s[i] === classes - 1) s[i--] = 0;
    if (i < 0) return;
    s[i] = s[i]! + 1;
  }
}

/** Small seeded generator (mulberry32), so the random streams are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Votes a one-by-one stop runs: the next vote runs while some member with votes left is undecided. */
function oneByOne(labels: readonly number[], memberVotes: readonly number[], classes: number): number {
  let done = 0;
  for (;;) {
    const h = voteHistogram(labels.slice(0, done), classes);
    if (!memberVotes.some((k) => k > done && votesToDecide(h, k - done) > 0)) return done;
    done++;
  }
}

/** Votes the round schedule runs: each round adds `votesStillNeeded`, as the method group does. */
function inRounds(labels: readonly number[], memberVotes: readonly number[], classes: number): { done: number; rounds: number } {
  let done = 0;
  let rounds = 0;
  for (;;) {
    const more = votesStillNeeded(labels.slice(0, done), memberVotes, classes);
    if (more === 0) return { done, rounds };
    done += more;
    rounds++;
  }
}

/** The checks every stream must pass: each member's label from the votes run equals its full K-vote's. */
function expectExact(labels: readonly number[], memberVotes: readonly number[], classes: number): void {
  const { done } = inRounds(labels, memberVotes, classes);
  expect(done).toBeLessThanOrEqual(Math.max(...memberVotes));
  // The rounds never run a vote the one-by-one stop would skip, nor stop earlier.
  expect(done, `${labels.join('')} / ${memberVotes.join(',')}`).toBe(oneByOne(labels, memberVotes, classes));
  for (const k of memberVotes) {
    const early = majorityVote(labels.slice(0, Math.min(done, k)), classes);
    expect(early, `${labels.join('')} K=${k}`).toBe(majorityVote(labels.slice(0, k), classes));
  }
}

describe('votesToDecide', () => {
  it('before any vote: half of K (rounded up; exactly half can decide for label 0, which wins ties)', () => {
    for (const K of [1, 2, 5, 10, 11, 50]) expect(votesToDecide(new Int32Array(10), K)).toBe(Math.ceil(K / 2));
  });

  it('is 0 exactly when no continuation of the left votes changes the winner, and the fewest votes that can decide', () => {
    for (const classes of [2, 3, 4]) {
      for (let K = 1; K <= 6; K++) {
        for (let seen = 0; seen <= K; seen++) {
          const left = K - seen;
          for (const prefix of sequences(seen, classes)) {
            const h = voteHistogram(prefix, classes);
            const lead = majorityVote(prefix, classes);
            const winners = new Set<number>();
            for (const rest of sequences(left, classes)) winners.add(majorityVote([...prefix, ...rest], classes));
            const e = votesToDecide(h, left);
            expect(e === 0, `${prefix.join('')} +${left}`).toBe(winners.size === 1 && winners.has(lead));
            // Some e more votes decide (all for the leader); no e - 1 votes can.
            const decidedAfter = (extra: readonly number[]) => votesToDecide(voteHistogram([...prefix, ...extra], classes), left - extra.length) === 0;
            expect(decidedAfter(new Array<number>(e).fill(lead))).toBe(true);
            if (e > 0) for (const extra of sequences(e - 1, classes)) expect(decidedAfter(extra)).toBe(false);
          }
        }
      }
    }
  });
});

describe('decided-vote stop is exact', () => {
  it('every label sequence for K <= 7 over 3 classes (and K <= 6 over 4): the stopped vote equals the full one', () => {
    for (const [classes, maxK] of [
      [2, 7],
      [3, 7],
      [4, 6],
    ] as const) {
      for (let K = 1; K <= maxK; K++) {
        for (const labels of sequences(K, classes)) expectExact(labels, [K], classes);
      }
    }
  });

  it('shared votes (members counting the first 1, 3, 5 ... of the same stream): every member equals its full vote', () => {
    const memberSets = [
      [1, 5, 7],
      [3, 7],
      [2, 4, 6],
      [7, 1],
      [5, 5],
    ];
    for (const members of memberSets) {
      const K = Math.max(...members);
      for (const labels of sequences(K, 3)) expectExact(labels, members, 3);
    }
  });

  it('random streams up to K = 50 (uniform and with a dominant class), alone and shared', () => {
    const rnd = random(20261130);
    let saved = 0;
    let total = 0;
    for (let i = 0; i < 4000; i++) {
      const classes = 2 + Math.floor(rnd() * 9);
      const K = 1 + Math.floor(rnd() * 50);
      const dominant = Math.floor(rnd() * classes);
      const p = rnd(); // how often the dominant class is voted
      const labels = Array.from({ length: K }, () => (rnd() < p ? dominant : Math.floor(rnd() * classes)));
      const members = i % 2 === 0 ? [K] : [...new Set([1 + Math.floor(rnd() * K), 1 + Math.floor(rnd() * K), K])];
      expectExact(labels, members, classes);
      saved += K - inRounds(labels, members, classes).done;
      total += K;
    }
    expect(saved / total).toBeGreaterThan(0.1); // the stop does stop
  });

  it('needs few rounds: a unanimous K = 10 vote is decided in one round of 5, a split one goes on', () => {
    expect(inRounds(new Array(10).fill(4), [10], 10)).toEqual({ done: 6, rounds: 2 }); // 5 fours tie with 5 of a smaller label
    expect(inRounds(new Array(10).fill(0), [10], 10)).toEqual({ done: 5, rounds: 1 });
    expect(inRounds([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], [10], 2).done).toBe(9);
    expect(inRounds([2, 2, 2, 2, 2, 2, 2, 2, 2, 2], [1, 5, 10], 10)).toEqual({ done: 6, rounds: 2 });
  });
});
