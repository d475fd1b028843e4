/**
 * The Python interpreter whose installed packages the server reads imported names from, as the
 * extension chooses it: `sepconv.pythonPath` (in an untrusted workspace only the user's value; the
 * setting is also a restricted configuration), else, in a trusted workspace, the interpreter the
 * Python extension (`ms-python.python`, through its environments API) has selected, else null (the
 * server takes `python3` on PATH). Sent at initialize and again whenever one of these changes.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { PythonInterpreterNotification, type PythonInterpreterParams } from '../server/protocol';
import { SECTION } from '../server/settings';

/** The part of the Python extension's API used here (`@vscode/python-extension`'s `environments`). */
interface EnvironmentPath {
  id: string;
  path: string;
}
interface PythonExtensionApi {
  ready?: Promise<void>;
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath;
    resolveEnvironment(environment: EnvironmentPath | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

/** How long activating the Python extension may take before it is left out. */
const PYTHON_EXTENSION_WAIT_MS = 10_000;

/** `sepconv.pythonPath`, with only the user's value in an untrusted workspace. */
export function configuredInterpreter(): string | null {
  const config = vscode.workspace.getConfiguration(SECTION);
  const value = vscode.workspace.isTrusted ? config.get<string>('pythonPath') : config.inspect<string>('pythonPath')?.globalValue;
  return typeof value === 'string' && value.trim() ? value.trim() : null;
}

async function pythonExtension(): Promise<PythonExtensionApi | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (!ext) return undefined;
  const activated = (async () => {
    const api = ext.isActive ? ext.exports : await ext.activate();
    await api?.ready;
    return api;
  })();
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), PYTHON_EXTENSION_WAIT_MS));
  try {
    return await Promise.race([activated, timeout]);
  } catch {
    return undefined;
  }
}

/** The interpreter the Python extension has selected for the first workspace folder, if any (trusted workspaces only). */
async function selectedInterpreter(api: PythonExtensionApi | undefined): Promise<string | null> {
  if (!vscode.workspace.isTrusted || !api?.environments) return null;
  try {
    const active = api.environments.getActiveEnvironmentPath(vscode.workspace.workspaceFolders?.[0]?.uri);
    const resolved = await api.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath ?? null;
  } catch {
    return null;
  }
}

/** Sends the chosen interpreter now and whenever the setting, the trust or the Python extension's choice changes. */
export function followInterpreter(extension: vscode.ExtensionContext, client: LanguageClient, sent: string | null): void {
  let last = sent;
  let api: PythonExtensionApi | undefined;
  const update = async () => {
    const interpreter = configuredInterpreter() ?? (await selectedInterpreter(api));
    if (interpreter === last) return;
    last = interpreter;
    await client.sendNotification(PythonInterpreterNotification, { interpreter } satisfies PythonInterpreterParams);
  };
  extension.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.pythonPath`)) void update();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void update()),
  );
  void (async () => {
    api = await pythonExtension();
    const changed = api?.environments?.onDidChangeActiveEnvironmentPath(() => void update());
    if (changed) extension.subscriptions.push(changed);
    await update();
  })();
}
