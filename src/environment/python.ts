/**
 * Asking a Python interpreter for its `sys.path` (the front ends' part of reading installed
 * packages; the core, src/analysis/environment.ts, takes the answer as data). The interpreter runs
 * one script of the standard library only (`SYS_PATH_SCRIPT`) in a neutral folder, with a 10 s
 * limit; the user's code is never imported. Each answer is kept for the life of the process (of the
 * thread), per interpreter: a pyenv shim takes over a second to answer.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as os from 'node:os';
import { parseEnvironment, SYS_PATH_SCRIPT, type PythonEnvironment } from '../analysis/environment';

/** The interpreter used when none is named. */
export const DEFAULT_PYTHON = 'python3';

export const QUERY_TIMEOUT_MS = 10_000;

/** The environment, or why the interpreter gave none (`missing`: it does not exist, which is no error for the default). */
export type PythonAnswer = { environment: PythonEnvironment } | { error: string; missing: boolean };

const answers = new Map<string, PythonAnswer>();
const pending = new Map<string, Promise<PythonAnswer>>();

const ARGS = ['-c', SYS_PATH_SCRIPT];
const execOptions = () => ({
  cwd: os.tmpdir(),
  timeout: QUERY_TIMEOUT_MS,
  encoding: 'utf8' as const,
  windowsHide: true,
  maxBuffer: 1 << 22,
});

function answer(interpreter: string, stdout: string): PythonAnswer {
  try {
    return { environment: parseEnvironment(interpreter, stdout) };
  } catch (e) {
    return { error: `${interpreter} did not answer with its sys.path (${(e as Error).message})`, missing: false };
  }
}

function failure(interpreter: string, e: unknown): PythonAnswer {
  const err = e as NodeJS.ErrnoException & { killed?: boolean; signal?: string; stderr?: string; status?: number };
  if (err.code === 'ENOENT') return { error: `${interpreter}: no such interpreter`, missing: true };
  if (err.code === 'EACCES') return { error: `${interpreter}: not executable (permission denied)`, missing: false };
  if (err.killed || err.signal === 'SIGTERM' || err.code === 'ETIMEDOUT')
    return { error: `${interpreter} did not answer within ${QUERY_TIMEOUT_MS / 1000} s`, missing: false };
  const said = String(err.stderr ?? '')
    .trim()
    .split('\n')
    .pop();
  return { error: `${interpreter} failed${said ? `: ${said}` : ''}`, missing: false };
}

/** The interpreter's environment, asked once per process and interpreter (blocks: the command line). */
export function pythonEnvironmentSync(interpreter: string): PythonAnswer {
  const known = answers.get(interpreter);
  if (known) return known;
  let a: PythonAnswer;
  try {
    a = answer(interpreter, execFileSync(interpreter, ARGS, { ...execOptions(), stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (e) {
    a = failure(interpreter, e);
  }
  answers.set(interpreter, a);
  return a;
}

/** The same without blocking (the language server). */
export function pythonEnvironment(interpreter: string): Promise<PythonAnswer> {
  const known = answers.get(interpreter);
  if (known) return Promise.resolve(known);
  let p = pending.get(interpreter);
  if (!p) {
    p = new Promise<PythonAnswer>((resolve) => {
      execFile(interpreter, ARGS, execOptions(), (e, stdout, stderr) => {
        const a = e ? failure(interpreter, Object.assign(e, { stderr })) : answer(interpreter, stdout);
        answers.set(interpreter, a);
        pending.delete(interpreter);
        resolve(a);
      });
    });
    pending.set(interpreter, p);
  }
  return p;
}

/** The interpreter's answer if it has already given one (never asks). */
export function knownPythonEnvironment(interpreter: string): PythonAnswer | undefined {
  return answers.get(interpreter);
}
