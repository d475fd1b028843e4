/** Shared test helpers: run the CLI in-process, temporary folders, a parse check. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from '../src/analysis/parsing';
import { firstSyntaxError } from '../src/analysis/syntax';
import { run } from '../src/cli/main';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

export function tempDir(prefix = 'sepconv-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** UPDATE=1 rewrites expectations instead of comparing; review the diff. */
export const UPDATE = process.env.UPDATE === '1';

export const ROOT = path.resolve(__dirname, '..');

/** Whether Python `text` parses without a syntax error (after `initParsing()`). */
export function pythonParses(text: string): boolean {
  const tree = parse('python', text);
  try {
    return firstSyntaxError(tree) === undefined;
  } finally {
    tree.delete();
  }
}
