/**
 * The outline of a library file: its text with the bodies of its functions and the text of its
 * docstrings left out, for a parse that skips what the interpreter mostly never reads. A model file
 * imports names from library modules (torchvision's detection models read some 40 files, 750 KB),
 * and most of their text is in the bodies of functions no model calls (transforms, weights'
 * metadata helpers, utilities) and in docstrings. A body is replaced by a `...` where its first
 * statement began, a docstring's text by one space; everything else is kept as it is, so the
 * outline's parse has every other node of the whole file's, at offsets that `realOffset` moves back
 * to the real text's. A part left out is parsed on its own when the interpreter first reads it
 * (`syntax.ts`), from the real text, at its real offsets.
 *
 * The parts are found by a scan of the text's logical lines (strings, brackets, comments and line
 * continuations followed as Python's tokenizer does): a `def` whose header ends its logical line
 * with a colon, and the lines indented deeper than it that follow; a statement that is a
 * triple-quoted string alone. Where a body ends is where tree-sitter's parse ends the definition:
 * its last statement's line, and after it the comment lines indented at least as deep as the body
 * (tree-sitter's scanner keeps those in the block). A text the scan cannot follow (an unterminated
 * string, unbalanced brackets) has no outline.
 */

import { lastAtMost } from '../../textDiff';

/** What an outline leaves out, and where its nodes are in the real text. */
export interface Outline {
  /** the text with each body left out but for a `...` where its first statement began, each docstring's text but for a space */
  text: string;
  /** per function left out, by where its definition starts in the real text (`def`, or `async`): where it ends */
  ends: Map<number, number>;
  /** per string statement left out (a docstring), by where it starts in the real text: where it ends */
  strings: Map<number, number>;
  /** the outline's offsets after each placeholder, ascending, from which the real text is `shift` further on */
  at: number[];
  shift: number[];
}

/** The offset in the real text of an offset in its outline's. */
export function realOffset(o: Pick<Outline, 'at' | 'shift'>, x: number): number {
  return o.at.length === 0 || x < o.at[0] ? x : x + o.shift[lastAtMost(o.at, x)];
}

/** Bodies shorter than this stay in the outline: a small parse of its own costs more than it saves. */
const MIN_BODY = 160;
/** The same for the text of a docstring. */
const MIN_STRING = 160;

const NEWLINE = 10;
const RETURN = 13;
const SPACE = 32;
const TAB = 9;
const FORMFEED = 12;
const HASH = 35;
const BACKSLASH = 92;
const COLON = 58;

interface Line {
  /** where its first character that is not indentation is */
  start: number;
  /** the end of its last character that is not white space (a trailing comment counts) */
  end: number;
  /** the line break that ends it (the text's length at the end) */
  newline: number;
  indent: number;
  comment: boolean;
  /** a `def` header ending with a colon, its body on the lines after */
  header: boolean;
  /** a statement that is a triple-quoted string alone (a docstring): where its text starts and ends, and the string's end */
  string?: [number, number, number];
}

/**
 * The outline of `text`, or undefined when there is nothing worth leaving out or the scan cannot
 * follow the text.
 */
export function outline(text: string): Outline | undefined {
  const lines = logicalLines(text);
  if (!lines) return undefined;
  const ends = new Map<number, number>();
  const strings = new Map<number, number>();
  const parts: string[] = [];
  const at: number[] = [];
  const shift: number[] = [];
  let copied = 0;
  let removed = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.start < copied) continue;
    if (line.string) {
      // a docstring: its text left out but for one space (the string's extent is read from its end)
      const [from, to, end] = line.string;
      if (to - from < MIN_STRING) continue;
      parts.push(text.slice(copied, from), ' ');
      at.push(from - removed + 1);
      removed += to - from - 1;
      shift.push(removed);
      strings.set(line.start, end);
      copied = to;
      continue;
    }
    if (!line.header) continue;
    let j = i + 1;
    while (j < lines.length && lines[j].comment) j++;
    const first = lines[j];
    if (!first || first.indent <= line.indent) continue;
    let last = j;
    for (let k = j + 1; k < lines.length && (lines[k].comment || lines[k].indent > line.indent); k++) if (!lines[k].comment) last = k;
    let end = lines[last].end;
    // the comment lines right after the last statement that tree-sitter keeps in the block
    for (let k = last + 1; k < lines.length && lines[k].comment && lines[k].indent >= first.indent; k++) end = lines[k].end;
    // the placeholder `...` stands for the statements from the first to the last
    if (end - first.start < MIN_BODY) continue;
    parts.push(text.slice(copied, first.start), '...');
    at.push(first.start - removed + 3);
    removed += end - first.start - 3;
    shift.push(removed);
    ends.set(line.start, end);
    copied = end;
  }
  if (at.length === 0) return undefined;
  parts.push(text.slice(copied));
  return { text: parts.join(''), ends, strings, at, shift };
}

/** Runs of characters that neither open nor close anything, in code and in each kind of string. */
const CODE = /[^"'#\\\n\r()[\]{}]+/y;
const INSIDE = {
  single: { 34: /[^"\\\n\r]+/y, 39: /[^'\\\n\r]+/y } as Record<number, RegExp>,
  triple: { 34: /[^"\\]+/y, 39: /[^'\\]+/y } as Record<number, RegExp>,
};

/**
 * The logical lines of a Python text that are not blank (a comment alone on its line is one, of its
 * physical line), or undefined where the text is not Python a tokenizer would follow.
 */
function logicalLines(text: string): Line[] | undefined {
  const out: Line[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    // indentation, as Python counts it (a tab to the next multiple of 8)
    let indent = 0;
    let c = text.charCodeAt(i);
    while (c === SPACE || c === TAB || c === FORMFEED) {
      indent = c === TAB ? (indent & ~7) + 8 : c === SPACE ? indent + 1 : 0;
      c = text.charCodeAt(++i);
    }
    if (i >= n) break;
    if (c === NEWLINE || c === RETURN) {
      i = skipNewline(text, i);
      continue;
    }
    const start = i;
    if (c === HASH) {
      const nl = lineEnd(text, i);
      out.push({ start, end: trimEnd(text, start, nl), newline: nl, indent, comment: true, header: false });
      i = nl < n ? skipNewline(text, nl) : n;
      continue;
    }
    let depth = 0;
    const string = stringStatement(text, i);
    if (string) i = string[1];
    for (;;) {
      CODE.lastIndex = i;
      if (CODE.test(text)) i = CODE.lastIndex;
      if (i >= n) break;
      c = text.charCodeAt(i);
      if (c === NEWLINE || c === RETURN) {
        if (depth === 0) break;
        i = skipNewline(text, i);
      } else if (c === HASH) i = lineEnd(text, i);
      else if (c === BACKSLASH) {
        // a line continuation (or a stray backslash, which the parser reports)
        i = Math.max(skipNewline(text, i + 1), i + 1);
      } else if (c === 34 || c === 39) {
        i = stringEnd(text, i, c);
        if (i < 0) return undefined;
      } else if (c === 40 || c === 91 || c === 123) {
        depth++;
        i++;
      } else {
        if (--depth < 0) return undefined;
        i++;
      }
    }
    if (depth !== 0) return undefined;
    const newline = Math.min(i, n);
    const header = startsDef(text, start) && text.charCodeAt(lastCode(text, start, newline)) === COLON;
    const end = trimEnd(text, start, newline);
    const line: Line = { start, end, newline, indent, comment: false, header };
    // a docstring: nothing after its string but a comment
    if (string && lastCode(text, string[1], newline) < 0) line.string = [string[0], string[1] - 3, string[1]];
    out.push(line);
    i = newline < n ? skipNewline(text, newline) : n;
  }
  return out;
}

/**
 * The last character of code in the logical line [start, end): before a comment that ends it.
 * Read again character by character (only for `def` lines, which are few and short).
 */
function lastCode(text: string, start: number, end: number): number {
  let last = -1;
  for (let i = start; i < end; ) {
    const c = text.charCodeAt(i);
    if (c === HASH) i = lineEnd(text, i);
    else if (c === 34 || c === 39) {
      i = stringEnd(text, i, c);
      last = i - 1;
    } else if (c === BACKSLASH) i = Math.max(skipNewline(text, i + 1), i + 1);
    else {
      if (c !== SPACE && c !== TAB && c !== FORMFEED && c !== NEWLINE && c !== RETURN) last = i;
      i++;
    }
  }
  return last;
}

/**
 * The text of the triple-quoted string that the statement at `i` starts with (after a prefix
 * without `f`: `r"""`), and the end of the string; undefined for any other statement.
 */
function stringStatement(text: string, i: number): [number, number] | undefined {
  let j = i;
  while (j < i + 2 && /[rRuUbB]/.test(text[j])) j++;
  const q = text.charCodeAt(j);
  if ((q !== 34 && q !== 39) || text.charCodeAt(j + 1) !== q || text.charCodeAt(j + 2) !== q) return undefined;
  const close = stringEnd(text, j, q);
  return close < 0 ? undefined : [j + 3, close];
}

/** Past the line break at `i` (`\n`, `\r\n` or `\r`); `i` itself if none is there. */
function skipNewline(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === RETURN) return text.charCodeAt(i + 1) === NEWLINE ? i + 2 : i + 1;
  return c === NEWLINE ? i + 1 : i;
}

/** The line break at or after `i`, or the text's length. */
function lineEnd(text: string, i: number): number {
  LINE.lastIndex = i;
  LINE.test(text);
  return LINE.lastIndex;
}
const LINE = /[^\n\r]*/y;

function trimEnd(text: string, from: number, to: number): number {
  while (to > from) {
    const c = text.charCodeAt(to - 1);
    if (c !== SPACE && c !== TAB && c !== FORMFEED) break;
    to--;
  }
  return to;
}

/** Whether the statement at `i` is `def name` or `async def name`. */
function startsDef(text: string, i: number): boolean {
  const word = (at: number, w: string) =>
    text.startsWith(w, at) && (text.charCodeAt(at + w.length) === SPACE || text.charCodeAt(at + w.length) === TAB);
  if (word(i, 'def')) return true;
  if (!word(i, 'async')) return false;
  let j = i + 5;
  while (text.charCodeAt(j) === SPACE || text.charCodeAt(j) === TAB) j++;
  return word(j, 'def');
}

/**
 * Past the string that opens at `i` with quote `q` (its prefix is read as code before it), or -1
 * where it does not end: a single-quoted string at its line's end, a triple-quoted one at the
 * text's. A backslash escapes the next character, in raw strings too (as the tokenizer reads them).
 */
function stringEnd(text: string, i: number, q: number): number {
  const n = text.length;
  const triple = text.charCodeAt(i + 1) === q && text.charCodeAt(i + 2) === q;
  const run = (triple ? INSIDE.triple : INSIDE.single)[q];
  let j = i + (triple ? 3 : 1);
  while (j < n) {
    run.lastIndex = j;
    if (run.test(text)) j = run.lastIndex;
    if (j >= n) break;
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j = Math.max(skipNewline(text, j + 1), j + 2);
    else if (c === q) {
      if (!triple) return j + 1;
      if (text.charCodeAt(j + 1) === q && text.charCodeAt(j + 2) === q) return j + 3;
      j++;
    } else return -1; // a line break in a single-quoted string
  }
  return -1;
}
