/** How a file lays out its code, so that inserted code looks like the code around it. */
import { lineAt, textChange } from '../analysis/textDiff';

export interface Layout {
  /** one indentation step: four spaces, two spaces, a tab */
  indentUnit: string;
  /** whether multi-line bracketed lists end with a comma before the closing bracket */
  trailingComma: boolean;
  lineLength: number;
  /** the file's line ending */
  eol: string;
}

let last: { text: string; layout: Layout } | undefined;

/**
 * The file's layout. A hover previews a rewrite on every keystroke: the last text's layout is kept
 * while a change since cannot alter it (`sameLayout`).
 */
export function detectLayout(text: string, lineLength = 88): Layout {
  const known =
    last && last.layout.lineLength === lineLength && (last.text === text || sameLayout(last.text, text)) ? last.layout : undefined;
  const layout = known ?? layoutOf(text, lineLength);
  last = { text, layout };
  return layout;
}

/**
 * Whether `after` has `before`'s layout without reading it all: the change lies within one line,
 * after its indentation, touches no bracket, comment or line break, and leaves the line's last
 * character of code (what trailing commas are judged by) as it was.
 */
function sameLayout(before: string, after: string): boolean {
  const { start, oldEnd, newEnd } = textChange(before, after);
  if (/[\n\r#()[\]{}]/.test(before.slice(start, oldEnd)) || /[\n\r#()[\]{}]/.test(after.slice(start, newEnd))) return false;
  const lineStart = before.lastIndexOf('\n', start - 1) + 1;
  if (!/\S/.test(before.slice(lineStart, start)) || before[start - 1] === '\r') return false;
  const a = codeOf(lineAt(before, start));
  const b = codeOf(lineAt(after, start));
  return a.length > 0 && b.length > 0 && a[a.length - 1] === b[b.length - 1];
}

function layoutOf(text: string, lineLength: number): Layout {
  const lines = text.split(/\r?\n/);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const steps = new Map<string, number>();
  let prev = '';
  let withComma = 0;
  let without = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const first = line.search(/\S/);
    if (first < 0) continue;
    const c = line[first];
    if (c !== '#') {
      let n = 0;
      while (line[n] === ' ' || line[n] === '\t') n++;
      const indent = line.slice(0, n);
      if (indent.length > prev.length && indent.startsWith(prev)) {
        const step = indent.slice(prev.length);
        steps.set(step, (steps.get(step) ?? 0) + 1);
      }
      prev = indent;
    }
    // a closing bracket that starts a line: is the line before it a list item with a trailing comma?
    if (i === 0 || (c !== ')' && c !== ']' && c !== '}')) continue;
    const before = codeOf(lines[i - 1]);
    if (!before || /[([{]$/.test(before)) continue;
    // contents on one line of their own (`f(\n    a, b\n)`, black's form for what fits): no
    // trailing comma there says nothing about lists of one item per line
    const opener = codeOf(lines[i - 2] ?? '');
    if (/[([{]$/.test(opener) && !before.endsWith(',')) continue;
    if (before.endsWith(',')) withComma++;
    else without++;
  }
  const indentUnit = [...steps.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '    ';
  return { indentUnit, trailingComma: withComma >= without, lineLength, eol };
}

/** A line without its trailing comment and white space. */
function codeOf(line: string): string {
  return line.replace(/\s+#.*$/, '').trimEnd();
}

/** Leading white space of the line that holds `offset`. */
export function indentAt(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(start))![0];
}

/** Column (in characters) of `offset` on its line. */
export function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** Comments that go with one item of a call: lines of their own before it, one after it on its line. */
export type Note = { before: string[]; after?: string } | undefined;

/**
 * A call `head(item, item, ...)` on one line when it fits in the remaining width; else, with `hug`,
 * the items together on one line of their own when that fits (black's form, no trailing comma);
 * else one item per line at `indent + unit`, closing bracket at `indent`. Items with `notes`
 * (comments) are always one per line, each with its comments.
 */
export function formatCall(
  head: string,
  items: string[],
  opts: {
    startColumn: number;
    indent: string;
    layout: Layout;
    prelude?: string[];
    forceMultiline?: boolean;
    hug?: boolean;
    notes?: Note[];
  },
): string {
  const noted = opts.notes?.some((n) => n !== undefined) ?? false;
  const one = `${head}(${items.join(', ')})`;
  if (
    !opts.forceMultiline &&
    !noted &&
    !opts.prelude?.length &&
    opts.startColumn + one.length <= opts.layout.lineLength &&
    !one.includes('\n')
  ) {
    return one;
  }
  const inner = opts.indent + opts.layout.indentUnit;
  const { eol } = opts.layout;
  const hugged = items.join(', ');
  if (opts.hug && !noted && !opts.prelude?.length && !hugged.includes('\n') && inner.length + hugged.length <= opts.layout.lineLength) {
    return `${head}(${eol}${inner}${hugged}${eol}${opts.indent})`;
  }
  const body = [...(opts.prelude ?? []).map((c) => inner + c)];
  items.forEach((it, i) => {
    const note = opts.notes?.[i];
    for (const c of note?.before ?? []) body.push(inner + c);
    const comma = i < items.length - 1 || opts.layout.trailingComma || note?.after ? ',' : '';
    body.push(inner + it + comma + (note?.after ? `  ${note.after}` : ''));
  });
  return `${head}(${eol}${body.join(eol)}${eol}${opts.indent})`;
}
