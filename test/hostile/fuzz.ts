/**
 * Random edits of real model files, for the fuzz run through `apply`: a seeded generator (the same
 * cases on every run), windows of one to three top-level definitions of a seed file (whole files
 * take a second each to analyse; a window a few milliseconds), and edits as a typing or merging
 * accident makes them: a line deleted or duplicated, a bracket flipped, characters deleted, a line
 * moved.
 */

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEADER = 'import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch import Tensor\n\n\n';
const BRACKETS = '()[]{}';

/** Top-level blocks of a Python file: each starts at a `class`, `def` or decorator in column 0. */
export function topLevelBlocks(text: string): string[] {
  const lines = text.split('\n');
  const blocks: string[] = [];
  let cur: string[] | undefined;
  for (const line of lines) {
    if (/^(class |def |@)/.test(line) && !(cur && cur.length && /^@/.test(cur[cur.length - 1]))) {
      if (cur) blocks.push(cur.join('\n'));
      cur = [];
    } else if (cur && /^\S/.test(line) && !/^(class |def |@|#|\)|\])/.test(line)) {
      blocks.push(cur.join('\n'));
      cur = undefined;
    }
    cur?.push(line);
  }
  if (cur) blocks.push(cur.join('\n'));
  return blocks;
}

/** One random edit of `text`. */
export function mutate(text: string, rand: () => number): string {
  const pick = (n: number) => Math.floor(rand() * n);
  const lines = text.split('\n');
  switch (pick(6)) {
    case 0: {
      lines.splice(pick(lines.length), 1);
      return lines.join('\n');
    }
    case 1: {
      const i = pick(lines.length);
      const n = 1 + pick(3);
      lines.splice(i, 0, ...lines.slice(i, i + n));
      return lines.join('\n');
    }
    case 2:
    case 3: {
      const at = [...text].flatMap((c, i) => (BRACKETS.includes(c) ? [i] : []));
      if (!at.length) return text;
      const i = at[pick(at.length)];
      return text.slice(0, i) + BRACKETS[pick(BRACKETS.length)] + text.slice(i + 1);
    }
    case 4: {
      const i = pick(text.length);
      return text.slice(0, i) + text.slice(i + 1 + pick(8));
    }
    default: {
      const [line] = lines.splice(pick(lines.length), 1);
      lines.splice(pick(lines.length + 1), 0, line);
      return lines.join('\n');
    }
  }
}

/** A case: one to three consecutive top-level blocks of a seed (behind the usual imports), edited zero to three times. */
export function fuzzCase(seeds: string[][], rand: () => number): string {
  const pick = (n: number) => Math.floor(rand() * n);
  const blocks = seeds[pick(seeds.length)];
  const first = pick(blocks.length);
  let text = HEADER + blocks.slice(first, first + 1 + pick(3)).join('\n') + '\n';
  const edits = pick(4);
  for (let i = 0; i < edits; i++) text = mutate(text, rand);
  return text;
}
