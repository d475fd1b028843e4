/** Finds the source files under the given paths, respecting .gitignore files on the way down. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { describeFsError } from '../analysis/files';
import { isNotebook } from '../analysis/notebook';
import { languageForPath } from '../analysis/parsing';

const analysable = (file: string) => languageForPath(file) !== undefined || isNotebook(file);

const SKIP_DIRS = new Set([
  'node_modules',
  '.git',
  '.hg',
  '.svn',
  '__pycache__',
  '.venv',
  'venv',
  '.tox',
  '.mypy_cache',
  'site-packages',
  'dist-packages',
  '.ipynb_checkpoints',
]);

export interface WalkResult {
  files: string[];
  /** paths given on the command line that do not exist or cannot be read */
  errors: string[];
}

function isVirtualEnv(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'pyvenv.cfg'));
}

export function collectFiles(paths: string[]): WalkResult {
  const out: WalkResult = { files: [], errors: [] };
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      out.errors.push(`${p}: ${describeFsError(e)}`);
      continue;
    }
    if (st.isFile()) {
      // a file named explicitly is taken whatever its extension, if we know the language
      if (analysable(p)) out.files.push(p);
      else out.errors.push(`${p}: not a Python, notebook, JavaScript or TypeScript file`);
    } else if (st.isDirectory()) {
      walk(p, [], out);
    } else {
      // a FIFO, a socket or a device: reading it could block or never end
      out.errors.push(`${p}: not a regular file or folder`);
    }
  }
  return out;
}

interface Scope {
  dir: string;
  ig: Ignore;
}

function walk(dir: string, scopes: Scope[], out: WalkResult): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    out.errors.push(`${dir}: cannot list: ${describeFsError(e)}`);
    return;
  }
  const gi = path.join(dir, '.gitignore');
  let here = scopes;
  if (fs.existsSync(gi)) {
    try {
      here = [...scopes, { dir, ig: ignore().add(fs.readFileSync(gi, 'utf8')) }];
    } catch (e) {
      out.errors.push(`${gi}: cannot read: ${describeFsError(e)}`);
    }
  }
  const ignored = (full: string, isDir: boolean) =>
    here.some((s) => {
      const rel = path.relative(s.dir, full).split(path.sep).join('/');
      return rel !== '' && s.ig.ignores(isDir ? `${rel}/` : rel);
    });
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (SKIP_DIRS.has(e.name) || ignored(full, true) || isVirtualEnv(full)) continue;
      walk(full, here, out);
    } else if (e.isFile() && analysable(e.name) && !ignored(full, false)) {
      out.files.push(full);
    }
  }
}
