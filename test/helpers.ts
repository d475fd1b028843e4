/** Shared test helpers: run the CLI in-process or bundled, temporary folders, a parse check. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultOptions, type AnalysisOptions } from '../src/analysis/options';
import { parse } from '../src/analysis/parsing';
import { inferModels, type ModelShapes } from '../src/analysis/python/shapes/models';
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

/** The models shape inference runs in Python `text` (a file at `file`: its neighbours are read), after `initParsing()`. */
export function modelsOf(text: string, options: Partial<AnalysisOptions> = {}, file = ''): ModelShapes[] {
  const tree = parse('python', text);
  try {
    return inferModels({ path: file, text, root: tree.rootNode }, { path: file || undefined }, defaultOptions(options));
  } finally {
    tree.delete();
  }
}

export function tempDir(prefix = 'sepconv-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

let bundled: string | undefined;
/** The command bundled from this tree (`dist/cli.js` and its bundle in a folder of its own), once per test process. */
export function bundledCli(): string {
  if (bundled) return bundled;
  const dist = tempDir('sepconv-dist-');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], {
    env: { ...process.env, SEPCONV_DIST: dist, SEPCONV_ENTRIES: 'cli' },
    stdio: 'pipe',
  });
  return (bundled = dist);
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
