/**
 * The SepConv language server: wires LSP requests to the feature handlers. Documents are synced
 * incrementally (each change becomes a tree-sitter edit); Jupyter notebooks are synced as notebooks,
 * so a cell is analysed with the Python cells before it.
 */
import {
  CodeLensRefreshRequest,
  LSPErrorCodes,
  ResponseError,
  DidChangeConfigurationNotification,
  PublishDiagnosticsNotification,
  MessageType,
  ShowMessageNotification,
  TextDocumentSyncKind,
  type Connection,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver';
import { fileURLToPath } from 'node:url';
import manifest from '../../package.json';
import { compileQueries, initParsing } from '../analysis/parsing';
import { frameworkFor } from '../frameworks/index';
import { Analyses, LARGE_DOCUMENT } from './analyses';
import { filePath, makeView, type ClientCapabilities, type ServerContext } from './context';
import { DocumentStore, grammarFor } from './documents';
import { onCodeAction, onResolve } from './features/codeActions';
import { onCodeLens } from './features/codeLens';
import { MismatchDiagnostics } from './features/diagnostics';
import { convert, convertWithWeights, planFiles, report } from './features/commands';
import { onHover } from './features/hover';
import { onInlayHints } from './features/inlayHints';
import {
  CodeActionKinds,
  PythonInterpreterNotification,
  ServerCommands,
  type PythonInterpreterParams,
  type ConvertArgs,
  type ConvertWeightsArgs,
  type PlanArgs,
  type Range,
  type ReportArgs,
} from './protocol';
import type { CancellationToken } from 'vscode-languageserver';
import { analysisOptions, parseSettings, SECTION, type Settings } from './settings';
import { IdleCollector } from './memory';
import { PythonEnvironments } from './python';
import { TreeCache } from './trees';
import { WeightsCache } from './weights';
import { AnalysisWorker, DEFAULT_LIMITS, Dropped, type WorkerLimits } from './worker';

const LANGUAGES = ['python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact'];

/** Time after start-up at which the grammars other than Python's load (unless a document or command needs one first). */
const OTHER_GRAMMARS_MS = 2000;

/** Pause in typing after which the full analysis of a changed document is computed. */
const WARM_UP_MS = 300;

export function startServer(connection: Connection): void {
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  const worker = new AnalysisWorker(DEFAULT_LIMITS, (message) => connection.console.error(message));
  const analyses = new Analyses(trees, worker, (src) => store.unitFor(src.key)?.version === src.version);
  const idle = new IdleCollector(undefined, () => worker.collect());
  const weights = new WeightsCache((message) => connection.console.log(message));
  let capabilities: ClientCapabilities = {
    resolveEdits: false,
    documentChanges: false,
    inlayHintRefresh: false,
    codeLensRefresh: false,
    diagnostics: false,
  };
  // proven shape mismatches, pushed whenever a full analysis of a document version is made
  const diagnostics = new MismatchDiagnostics(
    (uri, version, list) => void connection.sendNotification(PublishDiagnosticsNotification.type, { uri, version, diagnostics: list }),
  );
  let pullConfiguration = false;
  /** settings pushed by clients that do not answer `workspace/configuration` (or given at initialize) */
  let pushed: unknown;
  const settingsCache = new Map<string, Promise<Settings>>();
  const warned = new Set<string>();
  const python = new PythonEnvironments((message) => connection.console.warn(message));

  const settingsFor = (uri: string): Promise<Settings> => {
    const scope = store.notebookOf(uri) ?? uri;
    let s = settingsCache.get(scope);
    if (!s) {
      s = (async () => {
        const raw: unknown = pullConfiguration
          ? await connection.workspace.getConfiguration({ scopeUri: scope, section: SECTION })
          : pushed;
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

  // the grammars load from the start, Python's first (and its queries, compiled at the next idle
  // moment unless a view needed them first) and the others once the first requests are answered;
  // `initialize` waits for none of them, a view for the grammar of its document (a no-op once
  // loaded), a command for all. Compiled at start-up, Python's queries take 50-120 ms; compiled
  // when the first document needs them, while the analysis thread starts its own work, they took
  // twice as long and open → first hints went from 56 to 298 ms (p50, real corpus)
  void initParsing(['python']).then(() => {
    setImmediate(() => compileQueries('python'));
    setTimeout(() => void initParsing(), OTHER_GRAMMARS_MS).unref();
  });

  /**
   * Every view: a request is work (memory is handed back only after a pause), then the settings and
   * the Python environment. A range view without shapes (inlay hints: the static pass, which reads
   * no installed package) does not wait for the interpreter's answer; a hover's starts without it
   * (`Analyses.focused`: its run stops if it needs it) unless a checkpoint's plan is to be shown.
   */
  const viewOf = async (uri: string, range?: Range, exact?: boolean, token?: CancellationToken) => {
    idle.touch();
    const grammar = store.unitFor(uri)?.languageId;
    if (grammar) await initParsing([grammar]);
    const settings = await settingsFor(uri);
    if (range && !exact) return makeView(store, analyses, uri, settings, range, exact, token, python.known(settings));
    if (range && exact && !settings['weights.checkpoint'] && !python.answered(settings))
      return makeView(store, analyses, uri, settings, range, exact, token, undefined, {
        interpreter: python.interpreter(settings),
        environment: python.environment(settings),
      });
    return makeView(store, analyses, uri, settings, range, exact, token, await python.environment(settings));
  };

  const ctx: ServerContext = {
    store,
    trees,
    get capabilities() {
      return capabilities;
    },
    settingsFor,
    pythonFor: (settings) => python.environment(settings),
    analyses,
    view: async (uri, token) => {
      const v = await viewOf(uri, undefined, false, token);
      if (v) diagnostics.update(v);
      return v;
    },
    rangeView: (uri, range, token) => viewOf(uri, range, false, token),
    pointView: (uri, position, token) =>
      viewOf(uri, { start: { line: position.line, character: 0 }, end: { line: position.line + 1, character: 0 } }, true, token),
    warn(message) {
      void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message });
    },
    weights,
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

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const c = params.capabilities;
    capabilities = {
      resolveEdits: c.textDocument?.codeAction?.resolveSupport?.properties.includes('edit') ?? false,
      documentChanges: c.workspace?.workspaceEdit?.documentChanges ?? false,
      inlayHintRefresh: c.workspace?.inlayHint?.refreshSupport ?? false,
      codeLensRefresh: c.workspace?.codeLens?.refreshSupport ?? false,
      diagnostics: c.textDocument?.publishDiagnostics !== undefined,
    };
    pullConfiguration = c.workspace?.configuration ?? false;
    // a relative `sepconv.weights.checkpoint` is under a workspace folder
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    weights.roots = folders.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u));
    const init = params.initializationOptions as { settings?: unknown; limits?: unknown; python?: unknown } | undefined;
    pushed = init?.settings;
    if (typeof init?.python === 'string' && init.python) python.client = init.python;
    worker.setLimits(parseLimits(init?.limits));
    // the interpreter is asked for its packages now (a pyenv shim takes a second), not at the first hover
    if (python.client || !pullConfiguration) void python.environment(parseSettings(pushed).settings);
    // the worker starts (and warms up) while the client opens its first document
    worker.warm();
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

  // the client chose another interpreter: every analysis is made again with its packages
  connection.onNotification(PythonInterpreterNotification, (params: PythonInterpreterParams) => {
    const next = typeof params?.interpreter === 'string' && params.interpreter ? params.interpreter : undefined;
    if (next === python.client) return;
    python.client = next;
    settingsCache.clear();
    refresh();
  });

  connection.onDidChangeConfiguration((params) => {
    const settings = params.settings as Record<string, unknown> | null | undefined;
    if (settings && typeof settings === 'object' && SECTION in settings) pushed = settings[SECTION];
    settingsCache.clear();
    refresh();
  });

  // ---- documents ----
  /** The unsaved text of an open Python file, for the shape inference of the files that import it. */
  const overlay = (uri: string, text: string | null) => {
    const file = store.notebookOf(uri) ? undefined : filePath({ uri, notebook: false });
    // a document too large to be analysed whole is no neighbour a model imports
    if (file) worker.setOverlay(file, text !== null && text.length > LARGE_DOCUMENT ? null : text);
  };
  /** A document (or the notebook it is a cell of) changed: analyses of its other versions are dropped. */
  const moved = (uri: string) => {
    const key = store.notebookOf(uri) ?? uri;
    worker.supersede(key, store.unitFor(key)?.version);
  };
  connection.onDidOpenTextDocument(({ textDocument: d }) => {
    if (!LANGUAGES.includes(d.languageId)) return;
    store.open(d.uri, d.languageId, d.version, d.text);
    // shape inference in the worker reads open files' unsaved texts
    const framework = frameworkFor(grammarFor(d.languageId)!);
    if (framework.readsNeighbours) overlay(d.uri, d.text);
    if (framework.offThread) {
      worker.warm();
      // the worker parses it and runs its imports while the first hints are answered here, without
      // waiting for the interpreter's answer (the imports found from the file's folder are read ahead)
      const unit = store.unitFor(d.uri);
      if (unit)
        settingsFor(d.uri)
          .then((s) =>
            analyses.prepare(
              unit,
              { ...analysisOptions(s), python: python.known(s) },
              framework.readsNeighbours ? filePath(unit) : undefined,
            ),
          )
          .catch(() => undefined);
    }
    // its diagnostics come from the full analysis: made now, not at the first lens or edit
    if (capabilities.diagnostics) warmUp(d.uri);
  });
  connection.onDidChangeTextDocument(({ textDocument: d, contentChanges }) => {
    store.change(d.uri, d.version, contentChanges);
    const doc = store.get(d.uri);
    const grammar = doc && grammarFor(doc.languageId);
    if (doc && grammar && frameworkFor(grammar).readsNeighbours) overlay(d.uri, doc.getText());
    moved(d.uri);
    warmUp(d.uri);
  });
  connection.onDidCloseTextDocument(({ textDocument: d }) => {
    overlay(d.uri, null);
    if (!store.notebookOf(d.uri)) diagnostics.clear(d.uri);
    if (!store.notebookOf(d.uri)) worker.close(d.uri);
    store.close(d.uri);
    weights.forget(d.uri);
    idle.touch();
    clearTimeout(warming.get(d.uri));
    warming.delete(d.uri);
    settingsCache.delete(d.uri);
  });

  // ---- notebooks ----
  const nb = connection.notebooks.synchronization;
  nb.onDidOpenNotebookDocument(({ notebookDocument, cellTextDocuments }) => {
    store.openNotebook(
      notebookDocument.uri,
      notebookDocument.version,
      notebookDocument.cells.map((c) => c.document),
    );
    for (const d of cellTextDocuments) store.open(d.uri, d.languageId, d.version, d.text);
    if (capabilities.diagnostics && cellTextDocuments[0]) warmUp(cellTextDocuments[0].uri);
  });
  nb.onDidChangeNotebookDocument(({ notebookDocument, change }) => {
    const uri = notebookDocument.uri;
    const structure = change.cells?.structure;
    if (structure) {
      for (const d of structure.didClose ?? []) store.close(d.uri);
      store.spliceCells(
        uri,
        notebookDocument.version,
        structure.array.start,
        structure.array.deleteCount,
        (structure.array.cells ?? []).map((c) => c.document),
      );
      for (const d of structure.didOpen ?? []) store.open(d.uri, d.languageId, d.version, d.text);
    }
    store.setNotebookVersion(uri, notebookDocument.version);
    for (const t of change.cells?.textContent ?? []) store.change(t.document.uri, t.document.version, t.changes);
    moved(uri);
    // a cell's hints depend on the cells before it: ask for all of them again (the editor debounces)
    refresh();
    const cell = change.cells?.textContent?.[0]?.document.uri;
    if (capabilities.diagnostics && cell) warmUp(cell);
  });
  nb.onDidCloseNotebookDocument(({ notebookDocument, cellTextDocuments }) => {
    diagnostics.clear(notebookDocument.uri);
    for (const d of cellTextDocuments) store.close(d.uri);
    worker.close(notebookDocument.uri);
    store.closeNotebook(notebookDocument.uri);
    settingsCache.delete(notebookDocument.uri);
  });

  // ---- features ----
  connection.onHover((p, token) => answer(onHover(ctx, p, token)));
  connection.languages.inlayHint.on((p, token) => answer(onInlayHints(ctx, p, token)));
  connection.onCodeLens((p, token) => answer(onCodeLens(ctx, p, token)));
  connection.onCodeAction((p, token) => answer(onCodeAction(ctx, p, token)));
  connection.onCodeActionResolve((a, token) => answer(onResolve(ctx, a, token)));
  connection.onExecuteCommand(async ({ command, arguments: args }, token) => {
    const arg: unknown = args?.[0];
    // commands read files of any language
    await initParsing();
    switch (command) {
      case ServerCommands.convert:
        return answer(convert(ctx, connection, arg as ConvertArgs, token));
      case ServerCommands.report:
        return answer(report(ctx, arg as ReportArgs, token));
      case ServerCommands.plan:
        return answer(planFiles(ctx, arg as PlanArgs, token));
      case ServerCommands.convertWithWeights:
        return answer(convertWithWeights(ctx, connection, arg as ConvertWeightsArgs));
      default:
        throw new ResponseError(LSPErrorCodes.RequestFailed, `unknown command ${command}`);
    }
  });

  // tests only: the analysis worker's log of jobs, its counters and its running job
  if (process.env.SEPCONV_TEST_HOOKS === '1')
    connection.onRequest('sepconv/test/worker', () => ({ log: worker.log, stats: worker.stats, running: worker.busyWith ?? null }));

  connection.onShutdown(() => {
    worker.dispose();
    weights.dispose();
    idle.dispose();
    trees.dispose();
  });
  connection.listen();
}

/** A request whose analysis was dropped (`$/cancelRequest`) answers at once, as LSP asks. */
async function answer<T>(result: Promise<T>): Promise<T> {
  try {
    return await result;
  } catch (e) {
    if (e instanceof Dropped) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
    throw e;
  }
}

/**
 * The analysis worker's bounds from `initializationOptions.limits` (`{ timeMs, memoryMb }`, both
 * optional; for editors on slow machines, and for tests), else the defaults.
 */
export function parseLimits(raw: unknown): WorkerLimits {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const num = (v: unknown, min: number, fallback: number) => (typeof v === 'number' && Number.isFinite(v) && v >= min ? v : fallback);
  return { timeMs: num(r.timeMs, 100, DEFAULT_LIMITS.timeMs), memoryMb: num(r.memoryMb, 64, DEFAULT_LIMITS.memoryMb) };
}
