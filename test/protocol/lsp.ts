/**
 * A small LSP client for protocol tests: starts the server as a child process over stdio (the
 * TypeScript source through tsx, SEPCONV_SERVER=dist to test the bundle, or a path to another
 * build's server.js), answers the requests a
 * server makes of its editor (configuration, applyEdit, refresh) and keeps the documents it opened,
 * applying the server's edits to them as an editor would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  ApplyWorkspaceEditRequest,
  CodeActionRequest,
  CodeActionResolveRequest,
  CodeLensRefreshRequest,
  CodeLensRequest,
  ConfigurationRequest,
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidChangeNotebookDocumentNotification,
  DidChangeTextDocumentNotification,
  DidOpenNotebookDocumentNotification,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  InlayHintRefreshRequest,
  InlayHintRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ApplyWorkspaceEditParams,
  type ClientCapabilities,
  type CodeAction,
  type CodeActionContext,
  type CodeLens,
  type Diagnostic,
  type Hover,
  type InlayHint,
  type InitializeResult,
  type ProtocolConnection,
  type Range,
  type TextDocumentContentChangeEvent,
  type TextDocumentEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver-protocol/node';
import { ROOT } from '../helpers';

/** What VS Code 1.100 says it supports, for the parts the server looks at. */
export const VSCODE_CAPABILITIES: ClientCapabilities = {
  workspace: {
    configuration: true,
    workspaceEdit: { documentChanges: true },
    inlayHint: { refreshSupport: true },
    codeLens: { refreshSupport: true },
    didChangeConfiguration: { dynamicRegistration: true },
    executeCommand: {},
  },
  textDocument: {
    synchronization: { dynamicRegistration: false },
    hover: { contentFormat: ['markdown', 'plaintext'] },
    inlayHint: {},
    codeLens: {},
    codeAction: {
      codeActionLiteralSupport: {
        codeActionKind: { valueSet: ['', 'quickfix', 'refactor', 'refactor.rewrite', 'source', 'source.fixAll'] },
      },
      isPreferredSupport: true,
      disabledSupport: true,
      dataSupport: true,
      resolveSupport: { properties: ['edit'] },
    },
  },
  notebookDocument: { synchronization: {} },
};

export interface StartOptions {
  settings?: Record<string, unknown>;
  capabilities?: ClientCapabilities;
  /** refuse workspace/applyEdit, as an editor does when a document changed meanwhile */
  refuseEdits?: boolean;
  /** the analysis worker's bounds (`initializationOptions.limits`) */
  limits?: { timeMs?: number; memoryMb?: number };
  /** the Python interpreter the client chose (`initializationOptions.python`, as the VS Code extension sends it) */
  python?: string;
  /** the server answers `sepconv/test/worker` (SEPCONV_TEST_HOOKS=1): its analysis worker's job log */
  testHooks?: boolean;
}

export class TestClient {
  readonly docs = new Map<string, TextDocument>();
  readonly messages: string[] = [];
  readonly logs: string[] = [];
  readonly applied: ApplyWorkspaceEditParams[] = [];
  readonly refreshes = { inlayHints: 0, codeLens: 0 };
  readonly configurationRequests: unknown[] = [];
  /** the last diagnostics the server published per document */
  readonly diagnostics = new Map<string, Diagnostic[]>();
  private readonly diagnosticWaiters = new Set<{ uri: string; ok: (d: Diagnostic[]) => boolean; resolve: (d: Diagnostic[]) => void }>();
  private readonly logWaiters = new Set<{ re: RegExp; resolve: (message: string) => void }>();
  settings: Record<string, unknown>;
  initializeResult!: InitializeResult;

  private constructor(
    private readonly child: ChildProcess,
    readonly connection: ProtocolConnection,
    private readonly opts: StartOptions,
    readonly stderr: string[],
  ) {
    this.settings = opts.settings ?? {};
  }

  static async start(opts: StartOptions = {}): Promise<TestClient> {
    const server = process.env.SEPCONV_SERVER;
    const args =
      server === 'dist'
        ? [path.join(ROOT, 'dist/server.js'), '--stdio']
        : server?.endsWith('.js')
          ? [path.resolve(server), '--stdio']
          : ['--import', 'tsx', path.join(ROOT, 'src/server/index.ts'), '--stdio'];
    const env = opts.testHooks ? { ...process.env, SEPCONV_TEST_HOOKS: '1' } : process.env;
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env });
    const stderr: string[] = [];
    child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    const client = new TestClient(child, connection, opts, stderr);
    client.wire();
    connection.listen();
    client.initializeResult = await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: null,
      capabilities: opts.capabilities ?? VSCODE_CAPABILITIES,
      workspaceFolders: null,
      initializationOptions: {
        settings: opts.settings ?? {},
        ...(opts.limits ? { limits: opts.limits } : {}),
        ...(opts.python ? { python: opts.python } : {}),
      },
    });
    await connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  private wire(): void {
    const c = this.connection;
    c.onRequest(ConfigurationRequest.type, (params) => {
      this.configurationRequests.push(params);
      return params.items.map((item) => (item.section === 'sepconv' ? this.settings : null));
    });
    c.onRequest(RegistrationRequest.type, () => undefined);
    c.onRequest(InlayHintRefreshRequest.type, () => {
      this.refreshes.inlayHints++;
    });
    c.onRequest(CodeLensRefreshRequest.type, () => {
      this.refreshes.codeLens++;
    });
    c.onRequest(ApplyWorkspaceEditRequest.type, (params) => {
      this.applied.push(params);
      if (this.opts.refuseEdits) return { applied: false, failureReason: 'refused by the test' };
      this.applyEdit(params.edit);
      return { applied: true };
    });
    c.onNotification(ShowMessageNotification.type, (p) => this.messages.push(p.message));
    c.onNotification(PublishDiagnosticsNotification.type, (p) => {
      this.diagnostics.set(p.uri, p.diagnostics);
      for (const w of [...this.diagnosticWaiters]) {
        if (w.uri !== p.uri || !w.ok(p.diagnostics)) continue;
        this.diagnosticWaiters.delete(w);
        w.resolve(p.diagnostics);
      }
    });
    c.onNotification(LogMessageNotification.type, (p) => {
      this.logs.push(p.message);
      for (const w of [...this.logWaiters]) if (w.re.test(p.message)) w.resolve(p.message);
    });
  }

  /** Applies a WorkspaceEdit as VS Code does: refuses documentChanges for another version. */
  applyEdit(edit: WorkspaceEdit): void {
    for (const change of (edit.documentChanges ?? []) as TextDocumentEdit[]) {
      const doc = this.docs.get(change.textDocument.uri);
      if (!doc) throw new Error(`edit for a document that is not open: ${change.textDocument.uri}`);
      if (change.textDocument.version !== null && change.textDocument.version !== doc.version) {
        throw new Error(`edit for version ${change.textDocument.version} of ${doc.uri}, which is at ${doc.version}`);
      }
      this.docs.set(doc.uri, TextDocument.create(doc.uri, doc.languageId, doc.version, TextDocument.applyEdits(doc, change.edits)));
    }
    for (const [uri, edits] of Object.entries(edit.changes ?? {})) {
      const doc = this.docs.get(uri)!;
      this.docs.set(uri, TextDocument.create(uri, doc.languageId, doc.version, TextDocument.applyEdits(doc, edits)));
    }
  }

  text(uri: string): string {
    return this.docs.get(uri)!.getText();
  }

  async open(uri: string, text: string, languageId = 'python'): Promise<void> {
    this.docs.set(uri, TextDocument.create(uri, languageId, 1, text));
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
  }

  /** Sends incremental changes (ranges on the current text) and applies them locally. */
  async change(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<number> {
    const doc = this.docs.get(uri)!;
    const version = doc.version + 1;
    this.docs.set(uri, TextDocument.update(TextDocument.create(uri, doc.languageId, doc.version, doc.getText()), changes, version));
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: changes,
    });
    return version;
  }

  /** Replaces the first occurrence of `find` by `replace`, as one incremental change. */
  async replace(uri: string, find: string, replace: string): Promise<number> {
    const doc = this.docs.get(uri)!;
    const at = doc.getText().indexOf(find);
    if (at < 0) throw new Error(`"${find}" not in ${uri}`);
    return this.change(uri, [{ range: { start: doc.positionAt(at), end: doc.positionAt(at + find.length) }, text: replace }]);
  }

  async openNotebook(uri: string, cells: { text: string; kind?: 1 | 2; language?: string }[]): Promise<string[]> {
    const items = cells.map((c, i) => ({
      uri: `vscode-notebook-cell:${uri.replace(/^file:/, '')}#cell${i}`,
      languageId: c.language ?? 'python',
      version: 1,
      text: c.text,
    }));
    for (const item of items) this.docs.set(item.uri, TextDocument.create(item.uri, item.languageId, 1, item.text));
    await this.connection.sendNotification(DidOpenNotebookDocumentNotification.type, {
      notebookDocument: {
        uri,
        notebookType: 'jupyter-notebook',
        version: 1,
        cells: items.map((item, i) => ({ kind: cells[i].kind ?? 2, document: item.uri })),
      },
      cellTextDocuments: items,
    });
    return items.map((i) => i.uri);
  }

  async changeCell(notebook: string, notebookVersion: number, cell: string, changes: TextDocumentContentChangeEvent[]): Promise<void> {
    const doc = this.docs.get(cell)!;
    const version = doc.version + 1;
    this.docs.set(cell, TextDocument.update(TextDocument.create(cell, doc.languageId, doc.version, doc.getText()), changes, version));
    await this.connection.sendNotification(DidChangeNotebookDocumentNotification.type, {
      notebookDocument: { uri: notebook, version: notebookVersion },
      change: { cells: { textContent: [{ document: { uri: cell, version }, changes }] } },
    });
  }

  async configure(settings: Record<string, unknown>): Promise<void> {
    this.settings = settings;
    await this.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { sepconv: settings } });
  }

  /** The diagnostics of `uri` once the server published some that `ok` accepts (an event, not a poll). */
  waitForDiagnostics(uri: string, ok: (d: Diagnostic[]) => boolean): Promise<Diagnostic[]> {
    const now = this.diagnostics.get(uri);
    if (now && ok(now)) return Promise.resolve(now);
    return new Promise((resolve) => this.diagnosticWaiters.add({ uri, ok, resolve }));
  }

  /** The next log message of the server matching `re` after the first `skip` that did (an event, not a poll). */
  waitForLog(re: RegExp, skip = 0): Promise<string> {
    const seen = this.logs.filter((m) => re.test(m));
    if (seen.length > skip) return Promise.resolve(seen[skip]);
    let count = seen.length;
    return new Promise((resolve) => {
      const w = {
        re,
        resolve: (m: string) => {
          if (count++ < skip) return;
          this.logWaiters.delete(w);
          resolve(m);
        },
      };
      this.logWaiters.add(w);
    });
  }

  hover(uri: string, line: number, character: number): Promise<Hover | null> {
    return this.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character } });
  }

  inlayHints(uri: string, range?: Range): Promise<InlayHint[] | null> {
    const doc = this.docs.get(uri)!;
    return this.connection.sendRequest(InlayHintRequest.type, {
      textDocument: { uri },
      range: range ?? { start: { line: 0, character: 0 }, end: doc.positionAt(doc.getText().length) },
    });
  }

  codeLens(uri: string): Promise<CodeLens[] | null> {
    return this.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
  }

  async codeActions(uri: string, line: number, character: number, context: Partial<CodeActionContext> = {}): Promise<CodeAction[]> {
    const r = await this.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: { start: { line, character }, end: { line, character } },
      context: { diagnostics: [], triggerKind: 1, ...context },
    });
    return (r ?? []) as CodeAction[];
  }

  resolve(action: CodeAction): Promise<CodeAction> {
    return this.connection.sendRequest(CodeActionResolveRequest.type, action);
  }

  execute<T>(command: string, ...args: unknown[]): Promise<T> {
    return this.connection.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }) as Promise<T>;
  }

  /** Whether the server process is still running. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      // a server stuck in a loop never answers: give it 5 s, then kill it (the test has failed already)
      const shutdown = this.connection
        .sendRequest(ShutdownRequest.type)
        .then(() => this.connection.sendNotification(ExitNotification.type));
      await Promise.race([shutdown, new Promise((r) => setTimeout(r, 5000).unref())]);
    } finally {
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
      this.connection.dispose();
      if (this.child.exitCode === null) this.child.kill();
    }
  }
}

/** 0-based line and character of the first `needle` (after `after`, if given) in `text`. */
export function positionOf(text: string, needle: string, after = ''): { line: number; character: number } {
  const from = after ? text.indexOf(after) : 0;
  const at = text.indexOf(needle, from < 0 ? 0 : from);
  if (at < 0) throw new Error(`"${needle}" not found`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length - 1, character: before.at(-1)!.length };
}
