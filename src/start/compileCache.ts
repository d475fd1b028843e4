/**
 * Loads a bundle through V8's code cache (bundled to dist/compile-cache.js; dist/cli.js,
 * dist/server.js and dist/analysis-worker.js are three-line stubs that call it with their bundle).
 * A bundle is a megabyte of JavaScript that V8 would otherwise parse and compile on every start of
 * the command, the language server and its analysis thread; with the cache it takes the bytecode a
 * previous start left: the functions that start ran, and no parse. Node 22's
 * `module.enableCompileCache` does the same; Node 20 has no such thing.
 *
 * The cache is one file per bundle in the user's cache folder (`cacheHome()/v8`, made private to
 * the user, and read only while it and the file are the user's alone), named by the V8 version,
 * the architecture and a hash of the bundle's text, so that a changed bundle or another Node.js
 * never reads bytecode made for something else (V8 itself checks its version and its flags, but of
 * the source only the length). A start writes the file when there was none or V8 refused it, once
 * the start's own work has run (`saveAfterMs`, or at exit, whichever comes first), through a
 * temporary file and a rename, and removes the files of the same bundle's other builds. Any
 * failure (a read-only home, a full disk, a damaged file)
 * only costs the speed: the bundle is then compiled as usual.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';

/** The user's cache folder for SepConv: `SEPCONV_CACHE_DIR`, else `$XDG_CACHE_HOME/sepconv`, else `~/.cache/sepconv`. */
export function cacheHome(): string {
  return process.env.SEPCONV_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'sepconv');
}

/** What became of a start's cache: none there, V8 took it, or V8 refused it (and it is written again); `save` writes it now. */
export interface CachedStart {
  cache: 'none' | 'accepted' | 'rejected';
  file: string;
  save(): void;
}

/**
 * Runs `bundle` as CommonJS, as `require` would, with `stub` (the module that calls this) as its
 * `module`; the cache is written `saveAfterMs` after the start, or at exit when that comes first.
 * Without `use` (the command's `--no-cache`) the cache is neither read nor written.
 */
export function runBundle(bundle: string, stub: NodeJS.Module, saveAfterMs: number, use = true): CachedStart {
  const source = fs.readFileSync(bundle, 'utf8');
  // one file per bundle and V8 (VS Code's and the shell's Node.js each keep theirs), named by the build
  const name = `${path.basename(bundle, '.js')}-${process.versions.v8}-${process.arch}`;
  const dir = path.join(cacheHome(), 'v8');
  const key = crypto.createHash('sha256').update(source).digest('hex').slice(0, 24);
  const file = path.join(dir, `${name}-${key}.bin`);
  let cachedData: Buffer | undefined;
  try {
    if (use && ownedPrivately(dir) && ownedPrivately(file)) cachedData = fs.readFileSync(file);
  } catch {
    // none yet
  }
  // the CommonJS wrapper Node.js puts around a file, so that the bundle sees what it would see loaded by require
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    cachedData,
  });
  const cache = !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  let saved = !use || cache === 'accepted';
  const save = () => {
    if (saved) return;
    saved = true;
    writeCache(dir, file, name, script);
  };
  if (!saved) {
    setTimeout(save, saveAfterMs).unref();
    process.once('exit', save);
  }
  const require = createRequire(bundle);
  (script.runInThisContext() as (...args: unknown[]) => void).call(stub.exports, stub.exports, require, stub, bundle, path.dirname(bundle));
  return { cache, file, save };
}

/**
 * Whether `p` is this user's and no one else may write it: bytecode is code, and a cache folder
 * shared with another user (a `SEPCONV_CACHE_DIR` pointing to one) must not hand theirs to this
 * process. Where there are no user ids (Windows), the user's own cache folder is trusted.
 */
function ownedPrivately(p: string): boolean {
  const st = fs.statSync(p);
  const uid = process.getuid?.();
  return uid === undefined || (st.uid === uid && (st.mode & 0o022) === 0);
}

function writeCache(dir: string, file: string, name: string, script: vm.Script): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    fs.renameSync(tmp, file);
    for (const other of fs.readdirSync(dir))
      if (other.startsWith(`${name}-`) && other.endsWith('.bin') && path.join(dir, other) !== file)
        fs.rmSync(path.join(dir, other), { force: true });
  } catch {
    // the cache is only for speed; a full disk leaves no part of a file behind
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // not even that folder
    }
  }
}
