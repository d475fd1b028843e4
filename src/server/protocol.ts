/**
 * What the language server and its clients (the VS Code extension, other editors, the tests) agree
 * on: command ids, code action kinds and the shapes of command arguments and results. Plain types,
 * no LSP library: the extension bundles this too.
 */
import type { LayerJson, TotalsJson } from '../analysis/report';

/** Commands the server executes (`workspace/executeCommand`). One namespace, as vscode-eslint does. */
export const ServerCommands = {
  /** converts a layer, a class/builder or a whole file of an open document; applies with `workspace/applyEdit` */
  convert: 'sepconv.server.convert',
  /** the per-layer report (the `report --json` entries) of open documents or of given texts */
  report: 'sepconv.server.report',
  /** the edits that would convert chosen layers of given texts, without applying them */
  plan: 'sepconv.server.plan',
  /** converts a file together with its checkpoint (writes the new checkpoint, applies the code edit) */
  convertWithWeights: 'sepconv.server.convertWithWeights',
} as const;

/**
 * Client → server: the Python interpreter whose installed packages imports are read from (the
 * client's choice: a setting or the Python extension's), or null to let the server choose. The
 * same value may come at initialize as `initializationOptions.python`.
 */
export const PythonInterpreterNotification = 'sepconv/pythonInterpreter';

export interface PythonInterpreterParams {
  interpreter: string | null;
}

export const CodeActionKinds = {
  rewrite: 'refactor.rewrite.sepconv',
  convertAll: 'source.convertAll.sepconv',
} as const;

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface TextEdit {
  range: Range;
  newText: string;
}

/** What a conversion takes: one layer (at the start of its call), the class or builder around a position, or the file. */
export type Scope = 'layer' | 'container' | 'file';

export interface ConvertArgs {
  uri: string;
  /** the document version the command was made for; the server refuses if the document has moved on */
  version?: number;
  scope: Scope;
  /** for `layer` and `container`: a position inside it, in the document `uri` */
  at?: Position;
}

/** 1-based, as in the JSON report. */
export interface Location1 {
  uri: string;
  line: number;
  column: number;
}

export interface ConvertResult {
  applied: boolean;
  converted: number;
  skipped: (Location1 & { reason: string })[];
  message: string;
}

/** A file to report on or plan: an open document by uri, or any text (a workspace scan). */
export interface FileInput {
  uri: string;
  /** omitted: the open document, else the file on disk (`file:` uris) */
  text?: string;
  /** LSP language id; omitted: from the open document or the file extension */
  languageId?: string;
}

export interface ReportArgs {
  files: FileInput[];
}

export interface FileReport {
  /** the document the layers are in (a notebook cell for notebooks) */
  uri: string;
  /** the open document's version, null for a given text */
  version: number | null;
  error: string | null;
  layers: LayerJson[];
  totals: TotalsJson;
  /** what the analysis could not do, e.g. `shapes unknown (budget: time, over 5 s): ...`; absent when nothing */
  notes?: string[];
}

export interface ReportResult {
  files: FileReport[];
  totals: TotalsJson;
}

export interface PlanArgs {
  /** `select`: starts of the calls to convert (1-based, as in the report); omitted: every bulk candidate */
  files: (FileInput & { select?: { line: number; column: number }[] })[];
  /** threshold for bulk candidates; omitted: the setting */
  minSavings?: number;
}

export interface FilePlan {
  uri: string;
  version: number | null;
  error: string | null;
  /** the edits per document: the file itself, or for a notebook cell the cells the conversion touches */
  documents: { uri: string; version: number | null; edits: TextEdit[] }[];
  converted: { line: number; column: number }[];
  skipped: { line: number; column: number; reason: string }[];
}

export interface PlanResult {
  files: FilePlan[];
}

export interface ConvertWeightsArgs {
  /** an open file (not a notebook) */
  uri: string;
  version?: number;
  /** paths on the server's disk: the checkpoint (.pt/.pth, .safetensors, tfjs model.json) and where the new one goes (default: <name>.separable.<ext>) */
  checkpoint: string;
  out?: string;
  /** K per layer by the share of ||W||² kept (PyTorch); else `depthMultiplier`, else the setting */
  energy?: number;
  depthMultiplier?: number;
}

export interface ConvertWeightsResult {
  applied: boolean;
  message: string;
  /** the new checkpoint, when written */
  out: string | null;
  /** per converted module: K, energy kept, relative error, params */
  lines: string[];
}

/** `data` of an unresolved code action. */
export interface CodeActionData {
  uri: string;
  version: number;
  scope: Scope;
  at?: Position;
}
