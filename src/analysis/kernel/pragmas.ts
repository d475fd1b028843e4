/** `sepconv:` pragma comments. */

/** A line that opens a class or a function: a pragma on it is that definition's, not the file's. */
export const DEFINITION_LINE = /^\s*(class|def|async\s+def)\s/;

/** Integer `# sepconv: name=N` pragmas: on a class or def line (by row), or file-wide. */
export function intPragmas(text: string): { byRow: Map<number, Record<string, number>>; file: Record<string, number> } {
  const byRow = new Map<number, Record<string, number>>();
  const file: Record<string, number> = {};
  for (const { line, row } of pragmaLines(text)) {
    const body = /#\s*sepconv:(.*)$/.exec(line)?.[1];
    if (!body) continue;
    const values: Record<string, number> = {};
    for (const m of body.matchAll(/([A-Za-z_][\w.]*)=(-?\d+)(?![\dxX×])/g)) values[m[1]] = Number(m[2]);
    if (DEFINITION_LINE.test(line)) byRow.set(row, values);
    else Object.assign(file, values);
  }
  return { byRow, file };
}

let lastPragmaLines: { text: string; lines: { line: string; row: number }[] } | undefined;

/**
 * The lines that mention `sepconv:`, with their 0-based rows: found by a text search, not a split of
 * every line; the last text's are kept (a run reads them for input and for integer pragmas).
 */
export function pragmaLines(text: string): { line: string; row: number }[] {
  if (lastPragmaLines?.text === text) return lastPragmaLines.lines;
  const out: { line: string; row: number }[] = [];
  let row = 0;
  let counted = 0;
  for (let at = text.indexOf('sepconv:'); at >= 0; at = text.indexOf('sepconv:', at + 1)) {
    const start = text.lastIndexOf('\n', at) + 1;
    for (let i = text.indexOf('\n', counted); i >= 0 && i < start; i = text.indexOf('\n', i + 1)) row++;
    counted = start;
    const end = text.indexOf('\n', at);
    if (out[out.length - 1]?.row !== row) out.push({ line: text.slice(start, end < 0 ? text.length : end), row });
  }
  lastPragmaLines = { text, lines: out };
  return out;
}
