/**
 * The extension's state: the language client and what the commands share. Thin on purpose: every
 * number and edit comes from the server, which comes from the core.
 */
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import manifest from '../../package.json';
import type { ReportResult } from '../server/protocol';
import { parseSettings, SECTION, SETTING_PARSERS, type Settings } from '../server/settings';
import { configuredInterpreter, followInterpreter } from './python';

/** Languages the server analyses; a selector without a scheme also matches untitled files, virtual file systems and notebook cells. */
export const LANGUAGES = ['python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact'] as const;

export const DOCUMENT_SELECTOR = [
  ...LANGUAGES.map((language) => ({ language })),
  // Jupyter cells: named for the reader; `{ language: 'python' }` above matches them too
  { scheme: 'vscode-notebook-cell', language: 'python' },
];

/** A report shown in the report view, kept for export. */
export interface ShownReport {
  scope: string;
  result: ReportResult;
}

export class Ctx {
  lastReport: ShownReport | undefined;

  private constructor(
    readonly extension: vscode.ExtensionContext,
    readonly client: LanguageClient,
    readonly output: vscode.OutputChannel,
  ) {}

  static async start(extension: vscode.ExtensionContext): Promise<Ctx> {
    const output = vscode.window.createOutputChannel('SepConv');
    extension.subscriptions.push(output);
    const module = extension.asAbsolutePath('dist/server.js');
    const flags = manifest.sepconvServer.nodeFlags;
    // the server's environment: this one's, with package.json's server settings where it has none,
    // without what it does not need and would pay for at start (`unset`: a CA bundle)
    const env: NodeJS.ProcessEnv = { ...manifest.sepconvServer.env, ...process.env };
    for (const name of manifest.sepconvServer.unset) delete env[name];
    // the Python extension's interpreter follows once it has answered (it may activate slowly)
    const python = configuredInterpreter();
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc, options: { execArgv: flags, env } },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: [...flags, '--nolazy', '--inspect=6011'], env } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: output,
      // the server pulls `sepconv.*` with workspace/configuration; these are only for its first answers
      initializationOptions: { settings: rawSettings(), python },
    };
    const client = new LanguageClient('sepconv', 'SepConv', serverOptions, clientOptions);
    await client.start();
    followInterpreter(extension, client, python);
    return new Ctx(extension, client, output);
  }

  settings(scope?: vscode.Uri): Settings {
    return parseSettings(rawSettings(scope)).settings;
  }

  /** Runs one of the server's commands (`sepconv.server.*`). */
  server<T>(command: string, arg: unknown): Promise<T> {
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [arg] }) as Promise<T>;
  }

  async stop(): Promise<void> {
    await this.client.stop();
  }
}

/** The `sepconv` section as flat keys, for the typed parser. */
function rawSettings(scope?: vscode.Uri): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  return Object.fromEntries(Object.keys(SETTING_PARSERS).map((k) => [k, config.get(k)]));
}
