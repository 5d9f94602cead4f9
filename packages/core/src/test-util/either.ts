import { either as E } from 'fp-ts';

/** The Right of an awaited Either; a Left fails the test with what it held. */
export async function right<A>(result: Promise<E.Either<unknown, A>>): Promise<A> {
  const got = await result;
  if (E.isLeft(got)) throw new Error(`expected a Right, got Left ${JSON.stringify(got.left)}`);
  return got.right;
}
