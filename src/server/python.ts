/**
 * Which Python environment the server's analyses read installed packages from: the interpreter the
 * client chose (the VS Code extension sends `sepconv.pythonPath`, else the Python extension's
 * interpreter in a trusted workspace, else nothing: `initializationOptions.python` and the
 * `sepconv/pythonInterpreter` notification), else the `sepconv.pythonPath` setting (other editors),
 * else `python3` on PATH. Each interpreter is asked once per process, without blocking the thread
 * (src/environment/python.ts); one that fails is warned about once and gives no environment.
 */
import type { PythonEnvironment } from '../analysis/environment';
import { DEFAULT_PYTHON, knownPythonEnvironment, pythonEnvironment } from '../environment/python';
import type { Settings } from './settings';

export class PythonEnvironments {
  /** the interpreter the client chose, if it chose one */
  client: string | undefined;
  private readonly warned = new Set<string>();

  constructor(private readonly warn: (message: string) => void) {}

  /** The interpreter for these settings. */
  interpreter(settings: Settings): string {
    return this.client || settings.pythonPath || DEFAULT_PYTHON;
  }

  /** Its environment (asked on first use), or undefined when it has none to give. */
  async environment(settings: Settings): Promise<PythonEnvironment | undefined> {
    const interpreter = this.interpreter(settings);
    const a = await pythonEnvironment(interpreter);
    if ('environment' in a) return a.environment;
    // python3 missing from PATH is no error: installed packages are then not read
    if (!(a.missing && interpreter === DEFAULT_PYTHON) && !this.warned.has(interpreter)) {
      this.warned.add(interpreter);
      this.warn(`SepConv: installed packages are not read: ${a.error}`);
    }
    return undefined;
  }

  /** Whether the interpreter for these settings has answered (with an environment or not). */
  answered(settings: Settings): boolean {
    return knownPythonEnvironment(this.interpreter(settings)) !== undefined;
  }

  /**
   * Its environment if the interpreter has already answered, else undefined at once (and the
   * question is asked): for what reads no installed package (the static pass of inlay hints).
   */
  known(settings: Settings): PythonEnvironment | undefined {
    const a = knownPythonEnvironment(this.interpreter(settings));
    if (!a) void this.environment(settings);
    return a && 'environment' in a ? a.environment : undefined;
  }
}
