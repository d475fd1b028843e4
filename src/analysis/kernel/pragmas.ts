/**
 * `sepconv:` pragma comments, read once for every pass (the static analysis, the shape
 * interpreter, model discovery, TensorFlow.js).
 *
 * Syntax: `# sepconv: name=value, name=value` (Python) or `// sepconv: ...` / `/* sepconv: ... *\/`
 * (JavaScript, TypeScript); pairs separated by commas or spaces; an integer value is a number
 * (`features=64`), any other is text (`input=1x3x224x224`). Only comments count, not strings.
 *
 * Scope, one meaning for every pass: a pragma on the line that opens a Python `class` or `def`
 * belongs to that definition (what is evaluated inside it sees the values of the innermost
 * definition that has one, then the file's); any other pragma is file-wide. A later pragma
 * overrides an earlier one of the same scope. JavaScript and TypeScript have no per-definition
 * pragmas yet: every one is file-wide.
 */
import type { Node } from 'web-tree-sitter';
import { matchesOnRows, rowsMatching, type LanguageId } from '../parsing';

/** A line that opens a class or a function: a pragma on it is that definition's, not the file's. */
export const DEFINITION_LINE = /^\s*(class|def|async\s+def)\s/;

export interface PragmaValues {
  ints: Record<string, number>;
  text: Record<string, string>;
}

export interface Pragmas {
  file: PragmaValues;
  /** by the 0-based row of the `class` or `def` line they stand on */
  definitions: Map<number, PragmaValues>;
}

const PREFIX: Record<LanguageId, RegExp> = {
  python: /^#\s*sepconv:\s*/,
  javascript: /^(\/\/|\/\*)\s*sepconv:\s*/,
  typescript: /^(\/\/|\/\*)\s*sepconv:\s*/,
  tsx: /^(\/\/|\/\*)\s*sepconv:\s*/,
};

/** Adds the `name=value` pairs of one pragma's body (the text after `sepconv:`) to `into`. */
export function pragmaValues(body: string, into: PragmaValues): void {
  for (const part of body.split(/[,\s]+/)) {
    const m = /^([A-Za-z_$][\w.$]*)=(.+)$/.exec(part);
    if (!m) continue;
    if (/^-?\d+$/.test(m[2])) into.ints[m[1]] = Number(m[2]);
    else into.text[m[1]] = m[2];
  }
}

let last: { text: string; language: LanguageId; pragmas: Pragmas } | undefined;

/** The pragmas of a parsed file (`root` its tree's root); the last text's are kept. */
export function readPragmas(root: Node, text: string, language: LanguageId): Pragmas {
  if (last?.text === text && last.language === language) return last.pragmas;
  const pragmas: Pragmas = { file: { ints: {}, text: {} }, definitions: new Map() };
  const rows = rowsMatching(text, /sepconv:/);
  for (const c of matchesOnRows(language, 'pragmas', root, rows).flatMap((m) => m.captures)) {
    const body = c.node.text.replace(PREFIX[language], '').replace(/\*\/$/, '');
    const row = c.node.startPosition.row;
    let into = pragmas.file;
    if (language === 'python') {
      const line = text.slice(text.lastIndexOf('\n', c.node.startIndex - 1) + 1, c.node.startIndex);
      if (DEFINITION_LINE.test(line)) {
        let own = pragmas.definitions.get(row);
        if (!own) pragmas.definitions.set(row, (own = { ints: {}, text: {} }));
        into = own;
      }
    }
    pragmaValues(body, into);
  }
  last = { text, language, pragmas };
  return pragmas;
}
