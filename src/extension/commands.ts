/**
 * The commands of the SepConv category. Each is a factory `(ctx) => handler`, as in
 * rust-analyzer's client; the work is the server's (`sepconv.server.*`).
 */
import * as vscode from 'vscode';
import { addTotals, totals as sumOf } from '../analysis/report';
import {
  ServerCommands,
  type ConvertResult,
  type ConvertWeightsArgs,
  type ConvertWeightsResult,
  type ReportResult,
} from '../server/protocol';
import { LANGUAGES, type Ctx } from './ctx';
import { EXTENSIONS, render, showReportView, type ExportFormat } from './report';
import { candidates, convertChosen, scanWorkspace, type Conversion } from './workspace';

export type Command = (ctx: Ctx) => (...args: never[]) => unknown;

/** The document a command works on: the given one, the active editor's, or the active notebook's first Python cell. */
function targetDocument(uri?: vscode.Uri): vscode.TextDocument | undefined {
  const supported = (d: vscode.TextDocument | undefined) => (d && (LANGUAGES as readonly string[]).includes(d.languageId) ? d : undefined);
  if (uri) return supported(vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString()));
  const editor = supported(vscode.window.activeTextEditor?.document);
  if (editor) return editor;
  const nb = vscode.window.activeNotebookEditor?.notebook;
  return nb
    ?.getCells()
    .map((c) => c.document)
    .find((d) => d.languageId === 'python');
}

export const convertFile: Command = (ctx) => async (uri?: vscode.Uri) => {
  const doc = targetDocument(uri);
  if (!doc) {
    void vscode.window.showWarningMessage('SepConv: open a Python, JavaScript or TypeScript file or a Jupyter notebook first.');
    return undefined;
  }
  const result = await ctx.server<ConvertResult>(ServerCommands.convert, { uri: doc.uri.toString(), version: doc.version, scope: 'file' });
  if (result.applied) void vscode.window.showInformationMessage(`SepConv: ${result.message}`);
  else void vscode.window.showWarningMessage(`SepConv: ${result.message}`);
  return result;
};

/**
 * Converts the file together with a pretrained checkpoint it asks for (`checkpoint` and `rank` skip
 * the dialogs, for automation); the per-layer K, energy and error go to the SepConv output.
 */
export const convertWithWeights: Command =
  (ctx) => async (uri?: vscode.Uri, checkpoint?: vscode.Uri, rank?: Pick<ConvertWeightsArgs, 'energy' | 'depthMultiplier'>) => {
    const doc = targetDocument(uri);
    if (!doc || doc.uri.scheme !== 'file') {
      void vscode.window.showWarningMessage('SepConv: open a Python, JavaScript or TypeScript file (saved on disk) first.');
      return undefined;
    }
    const ckpt =
      checkpoint ??
      (
        await vscode.window.showOpenDialog({
          title: 'SepConv: the checkpoint to convert with this file',
          canSelectMany: false,
          defaultUri: vscode.Uri.joinPath(doc.uri, '..'),
          filters: { 'PyTorch, safetensors, TensorFlow.js model.json': ['pt', 'pth', 'bin', 'safetensors', 'json'] },
        })
      )?.[0];
    if (!ckpt) return undefined;
    if (!rank) {
      const m = ctx.settings(doc.uri).depthMultiplier;
      const pytorch = !ckpt.path.endsWith('.json');
      const items = [
        ...(pytorch
          ? [
              {
                label: 'Keep 99% of each layer’s energy',
                description: 'K per layer: the smallest that keeps 99% of ||W||²',
                rank: { energy: 0.99 },
              },
              { label: 'Keep 95% of each layer’s energy', description: 'K per layer, fewer parameters', rank: { energy: 0.95 } },
              {
                label: 'Exact',
                description: 'K = min(out channels, kernel size) per layer: the same outputs, more parameters',
                rank: { energy: 1 },
              },
            ]
          : []),
        {
          label: `Depth multiplier ${m}`,
          description: 'sepconv.depthMultiplier: the best rank-K approximation per layer',
          rank: { depthMultiplier: m },
        },
      ];
      const pick = await vscode.window.showQuickPick(items, { title: 'SepConv: how many components per input channel (K)' });
      if (!pick) return undefined;
      rank = pick.rank;
    }
    const result = await ctx.server<ConvertWeightsResult>(ServerCommands.convertWithWeights, {
      uri: doc.uri.toString(),
      version: doc.version,
      checkpoint: ckpt.fsPath,
      ...rank,
    });
    ctx.output.appendLine(`${vscode.workspace.asRelativePath(doc.uri)} with ${ckpt.fsPath}: ${result.message}`);
    for (const line of result.lines) ctx.output.appendLine(`  ${line}`);
    if (result.applied) {
      void vscode.window
        .showInformationMessage(`SepConv: ${result.message} (per layer K, energy and error in the SepConv output).`, 'Show')
        .then((choice) => {
          if (choice === 'Show') ctx.output.show(true);
        });
    } else void vscode.window.showWarningMessage(`SepConv: ${result.message}`);
    return result;
  };

export const convertWorkspace: Command = (ctx) => async (): Promise<Conversion | undefined> => {
  const scan = await scanWorkspace(ctx);
  if (scan.cancelled) {
    void vscode.window.showInformationMessage('SepConv: scan cancelled; nothing was changed.');
    return undefined;
  }
  for (const p of scan.problems) ctx.output.appendLine(p);
  const min = ctx.settings().minSavings;
  const items = candidates(scan, min);
  const files = new Set(items.map((i) => i.file)).size;
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`SepConv: no convertible convolutions in ${scan.files.length} files.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, {
    canPickMany: true,
    ignoreFocusOut: true,
    matchOnDescription: true,
    matchOnDetail: true,
    title: `SepConv: ${items.length} convertible convolution${items.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}`,
    placeHolder: `Pre-selected: saving ≥ ${(min * 100).toFixed(0)}% of params (sepconv.minSavings); then the refactor preview`,
  });
  if (!picked || picked.length === 0) return undefined;
  const result = await convertChosen(ctx, picked);
  for (const s of result.skipped) ctx.output.appendLine(`skipped ${s}`);
  const skipped = result.skipped.length
    ? ` Skipped ${result.skipped.length} (see the SepConv output): ${result.skipped.slice(0, 3).join('; ')}${result.skipped.length > 3 ? '; …' : ''}`
    : '';
  for (const u of result.unsaved) ctx.output.appendLine(`left unsaved ${u}`);
  const unsaved = result.unsaved.length ? ` Left unsaved: ${result.unsaved.join('; ')}.` : '';
  const saved = result.saved.length ? ` Saved ${result.saved.length} file${result.saved.length === 1 ? '' : 's'}.` : '';
  if (result.applied)
    void vscode.window.showInformationMessage(
      `SepConv: converted ${result.converted} convolution${result.converted === 1 ? '' : 's'} in ${result.files} file${result.files === 1 ? '' : 's'}.${saved}${unsaved}${skipped}`,
    );
  else void vscode.window.showWarningMessage(`SepConv: nothing was converted.${skipped}`);
  return result;
};

export const showReport: Command = (ctx) => async (scope?: 'file' | 'workspace') => {
  const doc = targetDocument();
  if (!scope) {
    if (!doc) scope = 'workspace';
    else {
      const pick = await vscode.window.showQuickPick(
        [
          { label: 'Current file', description: vscode.workspace.asRelativePath(doc.uri), scope: 'file' as const },
          { label: 'Workspace', description: 'every Python, JavaScript and TypeScript file', scope: 'workspace' as const },
        ],
        { title: 'SepConv: report on' },
      );
      if (!pick) return undefined;
      scope = pick.scope;
    }
  }
  let result: ReportResult;
  let label: string;
  if (scope === 'file') {
    if (!doc) {
      void vscode.window.showWarningMessage('SepConv: open a Python, JavaScript or TypeScript file first.');
      return undefined;
    }
    result = await ctx.server<ReportResult>(ServerCommands.report, { files: [{ uri: doc.uri.toString() }] });
    label = vscode.workspace.asRelativePath(doc.uri);
  } else {
    const scan = await scanWorkspace(ctx, 'SepConv: building the report');
    if (scan.cancelled) return undefined;
    const reports = scan.files.map((f) => f.report).filter((f) => f.layers.length > 0 || f.error);
    const totals = sumOf([]);
    for (const f of reports) addTotals(totals, f.totals);
    result = { files: reports, totals };
    label = vscode.workspace.name ?? 'workspace';
  }
  ctx.lastReport = { scope: label, result };
  await vscode.commands.executeCommand('setContext', 'sepconv.hasReport', true);
  showReportView(ctx.lastReport);
  return result;
};

/** Export the report last shown; `target` skips the save dialog (for automation). */
export const exportReport =
  (format: ExportFormat): Command =>
  (ctx) =>
  async (target?: vscode.Uri) => {
    if (!ctx.lastReport) {
      void vscode.window.showWarningMessage('SepConv: show a report first (SepConv: Show Report).');
      return undefined;
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri =
      target ??
      (await vscode.window.showSaveDialog({
        title: `Export the SepConv report as ${format === 'markdown' ? 'Markdown' : format.toUpperCase()}`,
        ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `sepconv-report.${EXTENSIONS[format]}`) } : {}),
        filters: { [format === 'markdown' ? 'Markdown' : format.toUpperCase()]: [EXTENSIONS[format]] },
      }));
    if (!uri) return undefined;
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(render(format, ctx.lastReport.result)));
    if (!target) {
      void vscode.window
        .showInformationMessage(`SepConv: report exported to ${vscode.workspace.asRelativePath(uri)}`, 'Open')
        .then((choice) => {
          if (choice === 'Open') void vscode.window.showTextDocument(uri);
        });
    }
    return uri;
  };

/** Command ids, as contributed in package.json, with their factories. */
export const COMMANDS: Record<string, Command> = {
  'sepconv.convertFile': convertFile,
  'sepconv.convertWorkspace': convertWorkspace,
  'sepconv.convertWithWeights': convertWithWeights,
  'sepconv.showReport': showReport,
  'sepconv.exportReport.markdown': exportReport('markdown'),
  'sepconv.exportReport.csv': exportReport('csv'),
  'sepconv.exportReport.json': exportReport('json'),
};
