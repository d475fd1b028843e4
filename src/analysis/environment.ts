/**
 * The Python environment whose installed packages shape inference reads (torchvision, timm,
 * torchaudio source), as plain data. The front ends ask an interpreter once for its `sys.path`
 * (src/environment/python.ts runs `SYS_PATH_SCRIPT`); the core only reads files in those folders,
 * never imports or runs anything.
 */

/** What shape inference knows of the workspace's Python. */
export interface PythonEnvironment {
  /** the interpreter as the user named it (`python3`, `/usr/bin/python3`): messages say it */
  interpreter: string;
  /** `sys.path` without the standard library's folders, zip files and the current folder: where packages are looked up */
  paths: string[];
  /** the standard library's top-level module names: kept as opaque libraries, never read */
  stdlib: string[];
}

/**
 * What the interpreter is asked (`python -c`), run in a neutral folder: `sys.path`, the standard
 * library's folders and module names. Imports nothing but the standard library's `sys`, `json`,
 * `os` and `sysconfig`.
 */
export const SYS_PATH_SCRIPT = [
  'import sys, json, os, sysconfig',
  "p = sysconfig.get_paths(); std = sorted({os.path.normpath(p[k]) for k in ('stdlib', 'platstdlib') if k in p})",
  "names = getattr(sys, 'stdlib_module_names', None)",
  "names = sorted(names) if names else sorted(set(sys.builtin_module_names) | {n.split('.')[0] for d in std if os.path.isdir(d) for n in os.listdir(d)})",
  "print(json.dumps({'path': sys.path, 'stdlib': std, 'names': names}))",
].join('\n');

/** The environment from the script's output; throws when the output is not what the script prints. */
export function parseEnvironment(interpreter: string, stdout: string): PythonEnvironment {
  const line = stdout.trim().split('\n').pop() ?? '';
  const data = JSON.parse(line) as { path?: unknown; stdlib?: unknown; names?: unknown };
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  if (!Array.isArray(data.path)) throw new Error('no sys.path in its answer');
  const std = new Set(strings(data.stdlib).map(normal));
  const paths = strings(data.path)
    .map(normal)
    .filter((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p))
    .filter((p) => !std.has(p) && !/\.(zip|egg)$/i.test(p) && !/[\\/]lib-dynload$/.test(p));
  return { interpreter, paths: [...new Set(paths)], stdlib: strings(data.names) };
}

const normal = (p: string) => (p.length > 1 ? p.replace(/[\\/]+$/, '') : p);
