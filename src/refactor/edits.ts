/** Plain text edits on the original text: offsets are UTF-16 code units, as in JavaScript strings. */
import { lastAtMost } from '../analysis/textDiff';

export interface TextEdit {
  start: number;
  end: number;
  newText: string;
}

/** Applies non-overlapping edits (in any order). Throws on overlap: that is a bug in a plan. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let pos = 0;
  for (const e of sorted) {
    if (e.start < pos) throw new Error(`overlapping edits at offset ${e.start}`);
    out += text.slice(pos, e.start) + e.newText;
    pos = e.end;
  }
  return out + text.slice(pos);
}

/** `text` of the span with the edits that lie wholly inside it applied (offsets of the original). */
export function sliceWithEdits(text: string, start: number, end: number, edits: readonly TextEdit[]): string {
  const inside = edits.filter((e) => e.start >= start && e.end <= end).map((e) => ({ ...e, start: e.start - start, end: e.end - start }));
  return applyEdits(text.slice(start, end), inside);
}

/** Line and column (0-based) of an offset. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  position(offset: number): { line: number; column: number } {
    const line = lastAtMost(this.starts, offset);
    return { line, column: offset - this.starts[line] };
  }

  offset(line: number, column: number): number {
    const start = this.starts[Math.min(line, this.starts.length - 1)];
    return Math.min(start + column, this.text.length);
  }

  lineStart(offset: number): number {
    return this.starts[this.position(offset).line];
  }
}
