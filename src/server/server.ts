/**
 * The SepConv language server: wires LSP requests to the feature handlers. Documents are synced
 * incrementally (each change becomes a tree-sitter edit); Jupyter notebooks are synced as notebooks,
 * so a cell is analysed with the Python cells before it.
 */
import {
  CodeLensRefreshRequest,
  DidChangeConfigurationNotification,
  MessageType,
  ShowMessageNotification,
  TextDocumentSyncKind,
  type Connection,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver';
import manifest from '../../package.json';
import { initParsing } from '../analysis/parsing';
import { makeView, type ClientCapabilities, type ServerContext } from './context';
import { DocumentStore } from './documents';
import { onCodeAction, onResolve } from './features/codeActions';
import { onCodeLens } from './features/codeLens';
import { convert, convertWithWeights, planFiles, report } from './features/commands';
import { onHover } from './features/hover';
import { onInlayHints } from './features/inlayHints';
import { CodeActionKinds, ServerCommands, type ConvertArgs, type ConvertWeightsArgs, type PlanArgs, type Range, type ReportArgs } from './protocol';
import { parseSettings, SECTION, type Settings } from './settings';
import { IdleCollector } from './memory';
import { TreeCache } from './trees';

const LANGUAGES = ['python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact'];

/** Pause in typing after which the full analysis of a changed document is computed. */
const WARM_UP_MS = 300;

export function startServer(connection: Connection): void {
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  const idle = new IdleCollector();
  let capabilities: ClientCapabilities = { resolveEdits: false, documentChanges: false, inlayHintRefresh: false, codeLensRefresh: false };
  let pullConfiguration = false;
  /** settings pushed by clients that do not answer `workspace/configuration` (or given at initialize) */
  let pushed: unknown;
  const settingsCache = new Map<string, Promise<Settings>>();
  const warned = new Set<string>();

  const settingsFor = (uri: string): Promise<Settings> => {
    const scope = store.notebookOf(uri) ?? uri;
    let s = settingsCache.get(scope);
    if (!s) {
      s = (async () => {
        const raw: unknown = pullConfiguration ? await connection.workspace.getConfiguration({ scopeUri: scope, section: SECTION }) : pushed;
        const parsed = parseSettings(raw);
        for (const p of parsed.problems) {
          if (!warned.has(p)) connection.console.warn(p);
          warned.add(p);
        }
        return parsed.settings;
      })();
      settingsCache.set(scope, s);
    }
    return s;
  };

  /** Every view: a request is work (memory is handed back only after a pause), then the settings. */
  const viewOf = async (uri: string, range?: Range, exact?: boolean) => {
    idle.touch();
    const settings = await settingsFor(uri);
    // from here on synchronous: the documents cannot change under the analysis
    return makeView(store, trees, uri, settings, range, exact);
  };

  const ctx: ServerContext = {
    store,
    trees,
    get capabilities() {
      return capabilities;
    },
    settingsFor,
    view: (uri) => viewOf(uri),
    rangeView: (uri, range) => viewOf(uri, range),
    pointView: (uri, position) => viewOf(uri, { start: { line: position.line, character: 0 }, end: { line: position.line + 1, character: 0 } }, true),
    warn(message) {
      void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message });
    },
  };

  // Hints follow every keystroke from a quick analysis of the visible lines; the full analysis
  // (all layers, shape inference, models) runs once typing pauses, so hovers, lenses and actions
  // find it ready.
  const warming = new Map<string, NodeJS.Timeout>();
  const warmUp = (uri: string) => {
    clearTimeout(warming.get(uri));
    warming.set(
      uri,
      setTimeout(() => {
        warming.delete(uri);
        ctx.view(uri).catch(() => undefined);
      }, WARM_UP_MS),
    );
  };

  const refresh = () => {
    if (capabilities.inlayHintRefresh) void connection.languages.inlayHint.refresh();
    if (capabilities.codeLensRefresh) void connection.sendRequest(CodeLensRefreshRequest.type);
  };

  connection.onInitialize(async (params: InitializeParams): Promise<InitializeResult> => {
    await initParsing();
    const c = params.capabilities;
    capabilities = {
      resolveEdits: c.textDocument?.codeAction?.resolveSupport?.properties.includes('edit') ?? false,
      documentChanges: c.workspace?.workspaceEdit?.documentChanges ?? false,
      inlayHintRefresh: c.workspace?.inlayHint?.refreshSupport ?? false,
      codeLensRefresh: c.workspace?.codeLens?.refreshSupport ?? false,
    };
    pullConfiguration = c.workspace?.configuration ?? false;
    const init = params.initializationOptions as { settings?: unknown } | undefined;
    pushed = init?.settings;
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        notebookDocumentSync: { notebookSelector: [{ notebook: { notebookType: 'jupyter-notebook' }, cells: [{ language: 'python' }] }] },
        hoverProvider: true,
        inlayHintProvider: { resolveProvider: false },
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKinds.rewrite, CodeActionKinds.convertAll], resolveProvider: true },
        executeCommandProvider: { commands: Object.values(ServerCommands) },
      },
      serverInfo: { name: 'sepconv', version: manifest.version },
    };
  });

  connection.onInitialized(() => {
    if (pullConfiguration) void connection.client.register(DidChangeConfigurationNotification.type, { section: SECTION });
  });

  connection.onDidChangeConfiguration((params) => {
    const settings = params.settings as Record<string, unknown> | null | undefined;
    if (settings && typeof settings === 'object' && SECTION in settings) pushed = settings[SECTION];
    settingsCache.clear();
    refresh();
  });

  // ---- documents ----
  connection.onDidOpenTextDocument(({ textDocument: d }) => {
    if (LANGUAGES.includes(d.languageId)) store.open(d.uri, d.languageId, d.version, d.text);
  });
  connection.onDidChangeTextDocument(({ textDocument: d, contentChanges }) => {
    store.change(d.uri, d.version, contentChanges);
    warmUp(d.uri);
  });
  connection.onDidCloseTextDocument(({ textDocument: d }) => {
    store.close(d.uri);
    idle.touch();
    clearTimeout(warming.get(d.uri));
    warming.delete(d.uri);
    settingsCache.delete(d.uri);
  });

  // ---- notebooks ----
  const nb = connection.notebooks.synchronization;
  nb.onDidOpenNotebookDocument(({ notebookDocument, cellTextDocuments }) => {
    store.openNotebook(notebookDocument.uri, notebookDocument.version, notebookDocument.cells.map((c) => c.document));
    for (const d of cellTextDocuments) store.open(d.uri, d.languageId, d.version, d.text);
  });
  nb.onDidChangeNotebookDocument(({ notebookDocument, change }) => {
    const uri = notebookDocument.uri;
    const structure = change.cells?.structure;
    if (structure) {
      for (const d of structure.didClose ?? []) store.close(d.uri);
      store.spliceCells(uri, notebookDocument.version, structure.array.start, structure.array.deleteCount, (structure.array.cells ?? []).map((c) => c.document));
      for (const d of structure.didOpen ?? []) store.open(d.uri, d.languageId, d.version, d.text);
    }
    store.setNotebookVersion(uri, notebookDocument.version);
    for (const t of change.cells?.textContent ?? []) store.change(t.document.uri, t.document.version, t.changes);
    // a cell's hints depend on the cells before it: ask for all of them again (the editor debounces)
    refresh();
  });
  nb.onDidCloseNotebookDocument(({ notebookDocument, cellTextDocuments }) => {
    for (const d of cellTextDocuments) store.close(d.uri);
    store.closeNotebook(notebookDocument.uri);
    settingsCache.delete(notebookDocument.uri);
  });

  // ---- features ----
  connection.onHover((p) => onHover(ctx, p));
  connection.languages.inlayHint.on((p) => onInlayHints(ctx, p));
  connection.onCodeLens((p) => onCodeLens(ctx, p));
  connection.onCodeAction((p) => onCodeAction(ctx, p));
  connection.onCodeActionResolve((a) => onResolve(ctx, a));
  connection.onExecuteCommand(async ({ command, arguments: args }) => {
    const arg: unknown = args?.[0];
    switch (command) {
      case ServerCommands.convert:
        return convert(ctx, connection, arg as ConvertArgs);
      case ServerCommands.report:
        return report(ctx, arg as ReportArgs);
      case ServerCommands.plan:
        return planFiles(ctx, arg as PlanArgs);
      case ServerCommands.convertWithWeights:
        return convertWithWeights(ctx, connection, arg as ConvertWeightsArgs);
      default:
        throw new Error(`unknown command ${command}`);
    }
  });

  connection.onShutdown(() => {
    idle.dispose();
    trees.dispose();
  });
  connection.listen();
}
