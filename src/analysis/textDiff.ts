/**
 * Where two versions of a text differ, for the caches that carry results over a keystroke
 * (`python/incremental.ts`, `refactor/layout.ts`): the common prefix and suffix, found by blocks
 * first (slices compare as memory; characters one by one do not, on a 5,000-line file); and where
 * an offset is among a text's lines.
 */

/** The differing middle: `before.slice(start, oldEnd)` became `after.slice(start, newEnd)`. */
export interface TextChange {
  start: number;
  oldEnd: number;
  newEnd: number;
}

export function textChange(before: string, after: string): TextChange {
  const start = commonPrefix(before, after);
  const tail = commonSuffix(before, after, start);
  return { start, oldEnd: before.length - tail, newEnd: after.length - tail };
}

function commonPrefix(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let n = 0;
  for (const block of [4096, 64, 1]) {
    while (n + block <= max && a.slice(n, n + block) === b.slice(n, n + block)) n += block;
  }
  return n;
}

/** The common suffix of `a` and `b` that does not reach into their first `prefix` characters. */
function commonSuffix(a: string, b: string, prefix: number): number {
  const max = Math.min(a.length, b.length) - prefix;
  let n = 0;
  for (const block of [4096, 64, 1]) {
    while (n + block <= max && a.slice(a.length - n - block, a.length - n) === b.slice(b.length - n - block, b.length - n)) n += block;
  }
  return n;
}

/** The index of the last of `sorted` (ascending, its first at most `x`) that is at most `x`: the line of an offset among line starts. */
export function lastAtMost(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (sorted[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The whole line of `text` that holds offset `at`. */
export function lineAt(text: string, at: number): string {
  const start = text.lastIndexOf('\n', at - 1) + 1;
  const end = text.indexOf('\n', at);
  return text.slice(start, end < 0 ? text.length : end);
}
