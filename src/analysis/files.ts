/**
 * Source files read from disk: the size and binary checks every reader applies, and shape-inference
 * sources: the analysed file's neighbours, for relative imports and
 * for the files that import a file of building blocks. The command line and the language server both
 * use it (the server lays its open, unsaved documents over the disk).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PythonEnvironment } from './environment';

/** What an analysis may read of other files (a model's parts in the files it imports). */
export interface ShapeSources {
  /** the analysed file's absolute path, for relative imports; omit for an unsaved buffer */
  path?: string;
  /** other files the user named (the command line's paths), importable by module name */
  files?: readonly string[];
  /** the text of a file, or undefined when it does not exist or cannot be read */
  read?: (file: string) => string | undefined;
  /** the names in a folder, to find the files that import a file of building blocks */
  list?: (dir: string) => string[];
  /**
   * The Python environment whose packages absolute imports are looked up in, asked for only when a
   * file imports a package that is neither the user's nor modelled (undefined: none, or no Python)
   */
  python?: () => PythonEnvironment | undefined;
  /**
   * Whether the analysis should stop now (its result is no longer wanted): checked between models
   * and every 1,024 interpreter steps; true makes the analysis throw `Interrupted` (kernel/budget.ts)
   */
  interrupted?: () => boolean;
}

/** Files larger than this are not read: no model file is this big. */
export const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

const FS_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ELOOP: 'a symbolic link loop',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EIO: 'an input/output error',
  EROFS: 'a read-only file system',
  ENOSPC: 'no space left on the device',
  EBUSY: 'the file is busy',
};

/** What a file-system error means, in words (no stack, no syscall names). */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (code && FS_ERRORS[code]) ?? (code ? `error ${code}` : 'an unknown error');
}

/** A file's text, or why it is not read. */
export function readSourceFile(file: string): { text?: string; error?: string } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    return { error: `cannot read: ${describeFsError(e)}` };
  }
  if (buf.length > MAX_SOURCE_BYTES)
    return { error: `skipped: ${(buf.length / 1048576).toFixed(1)} MB is larger than the ${MAX_SOURCE_BYTES / 1048576} MB limit` };
  if (buf.includes(0)) return { error: 'skipped: binary file' };
  return { text: buf.toString('utf8') };
}

/** Neighbours read for shape inference, by path: a folder of model files is read once per process, not once per file. */
const neighbours = new Map<string, { mtimeMs: number; size: number; text: string | undefined }>();
const MAX_NEIGHBOURS = 512;

/**
 * A neighbour's text, read again only when its modification time or size changed; with `snapshot`
 * (a command-line run, over in a second) read once and kept without asking the disk again.
 */
function readNeighbour(file: string, snapshot: boolean): string | undefined {
  if (snapshot) {
    const known = neighbours.get(file);
    if (known) return known.text;
  }
  let st: fs.Stats | undefined;
  try {
    // most files looked for are an import's candidates that are not there: no exception made for each
    st = fs.statSync(file, { throwIfNoEntry: false });
  } catch {
    // not a directory on the way, no permission
  }
  if (!st) {
    // in a snapshot, a file looked for and not found is not asked for again
    if (snapshot) remember(file, { mtimeMs: 0, size: 0, text: undefined });
    return undefined;
  }
  // a FIFO or a device would block the read (a file named on the command line says why it is not read; a neighbour is just skipped)
  if (!st.isFile()) return undefined;
  const known = neighbours.get(file);
  if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) return known.text;
  const text = readSourceFile(file).text;
  remember(file, { mtimeMs: st.mtimeMs, size: st.size, text });
  return text;
}

function remember(file: string, read: { mtimeMs: number; size: number; text: string | undefined }): void {
  if (neighbours.size >= MAX_NEIGHBOURS) neighbours.delete(neighbours.keys().next().value as string);
  neighbours.set(file, read);
}

/** Folder listings of a snapshot (command-line) run. */
const listings = new Map<string, string[]>();

function listFolder(dir: string, snapshot: boolean): string[] {
  const known = snapshot ? listings.get(dir) : undefined;
  if (known) return known;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    names = [];
  }
  if (snapshot) {
    if (listings.size >= MAX_NEIGHBOURS) listings.delete(listings.keys().next().value as string);
    listings.set(dir, names);
  }
  return names;
}

/**
 * Sources for the file at `file` (absolute; undefined for an unsaved buffer or a notebook), with
 * `files` importable by module name, and `overlay` giving texts that differ from the disk.
 * `snapshot`: the disk is taken not to change while the process runs (the command line: each
 * neighbour and folder is read once; the language server leaves it off and checks each time).
 */
export function diskSources(
  file: string | undefined,
  files: readonly string[] = [],
  overlay?: (file: string) => string | undefined,
  snapshot = false,
): ShapeSources {
  return {
    path: file ? path.resolve(file) : undefined,
    files: files.map((f) => path.resolve(f)),
    read: (f) => overlay?.(f) ?? readNeighbour(f, snapshot),
    list: (dir) => listFolder(dir, snapshot),
  };
}
