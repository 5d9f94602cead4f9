/**
 * The smallest integer n in [1, limit] with `holds(n)`, for a predicate that is false then true as n grows
 * (doubling search, then bisection), or null when it does not hold at `limit`.
 */
export function firstCountWhere(holds: (n: number) => boolean, limit: number): number | null {
  let hi = 1;
  while (!holds(hi)) {
    if (hi >= limit) return null;
    hi = Math.min(limit, hi * 2);
  }
  let lo = Math.floor(hi / 2);
  if (lo < 1) return hi;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (holds(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
