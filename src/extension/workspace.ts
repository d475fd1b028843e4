/**
 * Workspace scans and conversions. Files are read through VS Code (open editors first, then
 * `workspace.fs`, so virtual file systems work) and analysed by the server in batches; the
 * conversion is one WorkspaceEdit whose entries need confirmation, so VS Code shows its refactor
 * preview before anything is applied. A file that changed since the scan is skipped, never
 * overwritten. The conversion resolves once the edit is in every document it changes, and those
 * documents are saved (as VS Code saves the files of a multi-file refactoring, `files.refactoring.autoSave`),
 * except one that had unsaved changes of the user's before: it is named as left unsaved.
 */
import * as vscode from 'vscode';
import { compact, percentDrop } from '../analysis/report';
import { argsSummary } from '../analysis/reportFormats';
import { ServerCommands, type FileReport, type PlanArgs, type PlanResult, type ReportResult } from '../server/protocol';
import type { Ctx } from './ctx';

const INCLUDE = '**/*.{py,pyi,js,mjs,cjs,jsx,ts,mts,cts,tsx}';
const EXCLUDE = '**/{node_modules,.git,.hg,.venv,venv,.env,env,__pycache__,site-packages,.tox,.mypy_cache,dist,build,out}/**';
const MAX_FILES = 20000;
const MAX_BYTES = 4 * 1024 * 1024;
const BATCH = 25;

export interface ScannedFile {
  uri: vscode.Uri;
  text: string;
  languageId: string | undefined;
  report: FileReport;
}

export interface Scan {
  files: ScannedFile[];
  /** files that could not be read or analysed, with why */
  problems: string[];
  cancelled: boolean;
}

/** The text of a file as the user sees it: the open editor's, else the file system's. */
export async function currentText(uri: vscode.Uri): Promise<{ text: string; languageId?: string } | string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return { text: open.getText(), languageId: open.languageId };
  try {
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.size > MAX_BYTES) return `skipped: larger than ${MAX_BYTES / 1048576} MB`;
    const bytes = await vscode.workspace.fs.readFile(uri);
    if (bytes.includes(0)) return 'skipped: binary file';
    return { text: new TextDecoder('utf-8').decode(bytes) };
  } catch (e) {
    return `cannot read: ${(e as Error).message}`;
  }
}

/** Finds and analyses every source file, with a cancellable progress notification. */
export function scanWorkspace(ctx: Ctx, title = 'SepConv: scanning the workspace'): Thenable<Scan> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const scan: Scan = { files: [], problems: [], cancelled: false };
      const uris = (await vscode.workspace.findFiles(INCLUDE, EXCLUDE, MAX_FILES, token)).filter((u) => !u.path.endsWith('.d.ts'));
      uris.sort((a, b) => a.toString().localeCompare(b.toString()));
      for (let i = 0; i < uris.length; i += BATCH) {
        if (token.isCancellationRequested) {
          scan.cancelled = true;
          break;
        }
        const batch: { uri: vscode.Uri; text: string; languageId: string | undefined }[] = [];
        for (const uri of uris.slice(i, i + BATCH)) {
          const t = await currentText(uri);
          if (typeof t === 'string') scan.problems.push(`${vscode.workspace.asRelativePath(uri)}: ${t}`);
          else batch.push({ uri, text: t.text, languageId: t.languageId });
        }
        const result = await ctx.server<ReportResult>(ServerCommands.report, {
          files: batch.map((f) => ({ uri: f.uri.toString(), text: f.text, ...(f.languageId ? { languageId: f.languageId } : {}) })),
        });
        result.files.forEach((report, j) => {
          const f = batch[j];
          if (report.error && report.layers.length === 0) scan.problems.push(`${vscode.workspace.asRelativePath(f.uri)}: ${report.error}`);
          scan.files.push({ ...f, report });
        });
        const done = Math.min(i + BATCH, uris.length);
        progress.report({ increment: (100 * (done - i)) / Math.max(1, uris.length), message: `${done}/${uris.length} files` });
      }
      if (token.isCancellationRequested) scan.cancelled = true;
      return scan;
    },
  );
}

interface Candidate extends vscode.QuickPickItem {
  file: ScannedFile;
  line: number;
  column: number;
}

/** Every convertible layer of a scan, pre-selected when it saves at least `minSavings` of its parameters. */
export function candidates(scan: Scan, minSavings: number): Candidate[] {
  const out: Candidate[] = [];
  for (const file of scan.files) {
    for (const l of file.report.layers) {
      if (!l.convertible) continue;
      const saving = l.savings.params;
      const params =
        l.params.before !== null && l.params.after !== null
          ? `${compact(l.params.before)} → ${compact(l.params.after)} params`
          : `params × ${l.symbolic?.params.ratio ?? '?'}`;
      out.push({
        label: `${l.op} ${argsSummary(l)}`,
        description: `${vscode.workspace.asRelativePath(file.uri)}:${l.line}`,
        detail: `${saving !== null ? `${percentDrop(saving)} params` : 'symbolic sizes'}${l.savings.macs !== null ? ` · ${percentDrop(l.savings.macs)} MACs` : ''} · ${params}`,
        picked: saving !== null ? saving >= minSavings : minSavings <= 0,
        file,
        line: l.line,
        column: l.column,
      });
    }
  }
  return out;
}

export interface Conversion {
  applied: boolean;
  converted: number;
  files: number;
  /** files left alone: changed since the scan, or not rewritable */
  skipped: string[];
  /** converted files whose conversion is on disk */
  saved: string[];
  /** converted files left with unsaved changes, and why */
  unsaved: string[];
}

/** `text` with LSP-style edits (line/character ranges on `text`) applied. */
function withEdits(
  text: string,
  edits: readonly { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[],
): string {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const offset = (p: { line: number; character: number }) => (starts[p.line] ?? text.length) + p.character;
  const sorted = edits
    .map((e) => ({ start: offset(e.range.start), end: offset(e.range.end), newText: e.newText }))
    .sort((a, b) => b.start - a.start);
  return sorted.reduce((t, e) => t.slice(0, e.start) + e.newText + t.slice(e.end), text);
}

/**
 * After the WorkspaceEdit is applied: each changed document holds the planned text, then is saved
 * (unless it had unsaved changes before, or `files.refactoring.autoSave` is off), so the command
 * resolves with the conversion on disk or names the files it left unsaved.
 */
async function saveConverted(expected: Map<string, { rel: string; text: string; wasDirty: boolean }>, result: Conversion): Promise<void> {
  const autoSave = vscode.workspace.getConfiguration('files').get<boolean>('refactoring.autoSave', true);
  for (const [uri, want] of expected) {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    if (doc.getText() !== want.text) {
      result.unsaved.push(`${want.rel}: the editor holds another text than the conversion planned; review and save it`);
      continue;
    }
    if (!doc.isDirty) {
      result.saved.push(want.rel);
      continue;
    }
    if (want.wasDirty) result.unsaved.push(`${want.rel}: it had unsaved changes before the conversion`);
    else if (!autoSave) result.unsaved.push(`${want.rel}: files.refactoring.autoSave is off`);
    else if (await doc.save()) result.saved.push(want.rel);
    else result.unsaved.push(`${want.rel}: saving failed`);
  }
}

/** Plans the chosen layers with the server and applies them as one WorkspaceEdit shown in the refactor preview. */
export async function convertChosen(ctx: Ctx, chosen: readonly Candidate[]): Promise<Conversion> {
  const byFile = new Map<ScannedFile, Candidate[]>();
  for (const c of chosen) byFile.set(c.file, [...(byFile.get(c.file) ?? []), c]);
  const args: PlanArgs = {
    files: [...byFile].map(([f, cs]) => ({
      uri: f.uri.toString(),
      text: f.text,
      ...(f.languageId ? { languageId: f.languageId } : {}),
      select: cs.map((c) => ({ line: c.line, column: c.column })),
    })),
  };
  const plan = await ctx.server<PlanResult>(ServerCommands.plan, args);
  const files = [...byFile.keys()];
  const edit = new vscode.WorkspaceEdit();
  const result: Conversion = { applied: false, converted: 0, files: 0, skipped: [], saved: [], unsaved: [] };
  const expected = new Map<string, { rel: string; text: string; wasDirty: boolean }>();
  for (const [i, p] of plan.files.entries()) {
    const file = files[i];
    const rel = vscode.workspace.asRelativePath(file.uri);
    if (p.error) {
      result.skipped.push(`${rel}: ${p.error}`);
      continue;
    }
    const now = await currentText(file.uri);
    if (typeof now === 'string' || now.text !== file.text) {
      result.skipped.push(`${rel}: changed since the scan; not converted`);
      continue;
    }
    for (const d of p.documents) {
      for (const e of d.edits) {
        const range = new vscode.Range(e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character);
        edit.replace(vscode.Uri.parse(d.uri), range, e.newText, {
          needsConfirmation: false,
          label: 'Convert to depthwise separable',
          description: rel,
        });
      }
      if (d.edits.length) {
        const open = vscode.workspace.textDocuments.find((x) => x.uri.toString() === vscode.Uri.parse(d.uri).toString());
        expected.set(d.uri, { rel, text: withEdits(file.text, d.edits), wasDirty: open?.isDirty ?? false });
      }
    }
    for (const s of p.skipped) result.skipped.push(`${rel}:${s.line}: ${s.reason}`);
    result.converted += p.converted.length;
    result.files++;
  }
  if (result.converted === 0) return result;
  // VS Code shows its refactor preview when an entry needs confirmation, but starts such entries
  // unchecked; the user already chose in the QuickPick. So the conversions are plain (checked) entries
  // and the preview is asked for by one entry that changes nothing and is not listed: creating a file
  // that exists, with ignoreIfExists (the preview skips it; unchecked, it is never applied).
  const anchor = edit.entries()[0]?.[0];
  if (anchor) edit.createFile(anchor, { ignoreIfExists: true }, { needsConfirmation: true, label: 'SepConv' });
  result.applied = await vscode.workspace.applyEdit(edit, { isRefactoring: true });
  if (result.applied) await saveConverted(expected, result);
  return result;
}
