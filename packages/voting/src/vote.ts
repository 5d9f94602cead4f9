/**
 * Majority vote over K labels. Ties go to the smallest label: deterministic, independent of the order the
 * votes arrive in, and the same rule the top-class selection of CERTIFY uses.
 */
export function majorityVote(labels: ArrayLike<number>, numClasses: number, scratch = new Int32Array(numClasses)): number {
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
