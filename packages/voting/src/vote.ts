/**
 * Majority vote over K labels. Ties go to the smallest label: deterministic, independent of the order the
 * votes arrive in, and the same rule the top-class selection of CERTIFY uses.
 */
export function majorityVote(labels: ArrayLike<number>, numClasses: number, scratch: Int32Array = new Int32Array(numClasses)): number {
  scratch.fill(0);
  for (let i = 0; i < labels.length; i++) scratch[labels[i] as number] = scratch[labels[i] as number]! + 1;
  let best = 0;
  for (let c = 1; c < numClasses; c++) if (scratch[c]! > scratch[best]!) best = c;
  return best;
}

/** How often each class was voted: histogram[c] = number of labels equal to c. */
export function voteHistogram(labels: ArrayLike<number>, numClasses: number): Int32Array {
  const h = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number;
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) throw new RangeError(`label ${l} outside 0..${numClasses - 1}`);
    h[l] = h[l]! + 1;
  }
  return h;
}

/**
 * The fewest further votes after which a K-vote can be decided; 0 when it is decided now. `histogram` counts
 * the votes so far and `left` more will come. Decided means the final winner of `majorityVote` is fixed
 * whatever the `left` votes are: the leader L (most votes, ties to the smallest label) keeps it iff every other
 * class c, even given all `left` votes, stays below L's count, or equals it with c > L (ties go to the smaller
 * label). The best continuation for a decision gives every vote to L, so this is also the count no
 * continuation can decide in fewer votes: running that many more never runs a vote a one-by-one stop would not.
 */
export function votesToDecide(histogram: ArrayLike<number>, left: number): number {
  const n = histogram.length;
  let leader = 0;
  for (let c = 1; c < n; c++) if ((histogram[c] as number) > (histogram[leader] as number)) leader = c;
  const a = histogram[leader] as number;
  // The strongest challengers below and above the leader: those below must stay strictly under, those above may tie.
  let below = Number.NEGATIVE_INFINITY;
  let above = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < n; c++) {
    if (c < leader) below = Math.max(below, histogram[c] as number);
    else if (c > leader) above = Math.max(above, histogram[c] as number);
  }
  // e votes to the leader, the other left - e to one challenger: a + e > below + left - e and a + e >= above + left - e.
  const e = Math.max(0, Math.floor((below + left - a) / 2) + 1, Math.ceil((above + left - a) / 2));
  return Math.min(e, left);
}

/**
 * How many more of one draw's shared votes must run: `labels` holds the votes run so far, in vote order;
 * member m counts the first `memberVotes[m]`. 0 once every member is decided or has all its votes. Each
 * undecided member needs at least `votesToDecide` more in any continuation, so the maximum over them is run
 * in one round without running a vote the one-by-one stop would skip.
 */
export function votesStillNeeded(labels: ArrayLike<number>, memberVotes: readonly number[], numClasses: number, scratch: Int32Array = new Int32Array(numClasses)): number {
  const done = labels.length;
  scratch.fill(0);
  for (let i = 0; i < done; i++) scratch[labels[i] as number] = scratch[labels[i] as number]! + 1;
  let need = 0;
  for (const k of memberVotes) if (k > done) need = Math.max(need, votesToDecide(scratch, k - done));
  return need;
}
