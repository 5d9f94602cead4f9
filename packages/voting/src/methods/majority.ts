// Majority vote as an aggregation: the draw's label is the most voted class (ties to the smallest), and a draw
// stops drawing votes once its majority can no longer change (see ../vote.ts).
import { majorityVote, votesStillNeeded } from '../vote.js';
import type { Aggregation } from './entry.js';

export const MAJORITY_VOTE: Aggregation = {
  name: 'majority',
  reads: 'labels',
  decide: majorityVote,
  votesStillNeeded,
};
