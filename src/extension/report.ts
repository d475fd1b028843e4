/**
 * The report view: a per-layer table (params and MACs before and after) of a file or the
 * workspace, and its export to Markdown, CSV and JSON. The renderings are the CLI's.
 */
import * as vscode from 'vscode';
import { compact, formatCount, percentDrop, type TotalsJson } from '../analysis/report';
import { argsSummary, formatCsv, formatMarkdown, type FileJson } from '../analysis/reportFormats';
import type { ReportResult } from '../server/protocol';
import type { ShownReport } from './ctx';

export type ExportFormat = 'markdown' | 'csv' | 'json';

export const EXTENSIONS: Record<ExportFormat, string> = { markdown: 'md', csv: 'csv', json: 'json' };

/** The report's files with paths relative to the workspace, as the CLI prints them. */
export function fileJson(result: ReportResult): FileJson[] {
  return result.files.map((f) => ({ path: displayPath(f.uri), error: f.error, layers: f.layers, totals: f.totals }));
}

function displayPath(uri: string): string {
  const u = vscode.Uri.parse(uri);
  // a notebook cell is shown as its notebook
  return vscode.workspace.asRelativePath(u.scheme === 'vscode-notebook-cell' ? u.with({ scheme: 'file', fragment: '' }) : u);
}

export function render(format: ExportFormat, result: ReportResult): string {
  const files = fileJson(result);
  switch (format) {
    case 'markdown':
      return formatMarkdown(files, result.totals) + '\n';
    case 'csv':
      return formatCsv(files);
    case 'json':
      // the `sepconv report --json` contract
      return JSON.stringify({ files: files.map(({ totals: _t, ...f }) => f), totals: result.totals }, null, 2) + '\n';
  }
}

let panel: vscode.WebviewPanel | undefined;

export function showReportView(shown: ShownReport): void {
  if (!panel) {
    panel = vscode.window.createWebviewPanel('sepconv.report', 'SepConv Report', vscode.ViewColumn.Active, {
      enableScripts: false,
      enableFindWidget: true,
    });
    panel.onDidDispose(() => (panel = undefined));
  }
  panel.title = `SepConv Report: ${shown.scope}`;
  panel.webview.html = html(shown);
  panel.reveal();
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function totalsText(t: TotalsJson): string {
  const pb = t.params.before ?? 0;
  const pa = t.params.after ?? 0;
  const mb = t.macs.before ?? 0;
  const ma = t.macs.after ?? 0;
  const drop = (a: number, b: number) => (b > 0 ? ` (${percentDrop(1 - a / b)})` : '');
  return `${t.layers} conv layers, ${t.convertible} convertible · params ${compact(pb)} → ${compact(pa)}${drop(pa, pb)} · MACs ${compact(mb)} → ${compact(ma)}${drop(ma, mb)}${t.unresolved ? ` · ${t.unresolved} with symbolic sizes not summed` : ''}`;
}

function html(shown: ShownReport): string {
  const rows: string[] = [];
  for (const f of fileJson(shown.result)) {
    if (f.error && f.layers.length === 0) continue;
    for (const l of f.layers) {
      const after = (v: number | null, s: string | null | undefined) => (l.convertible ? formatCount(v, s) : '');
      rows.push(
        `<tr class="${l.convertible ? 'convertible' : 'kept'}"><td>${esc(`${f.path}:${l.cell ? `cell ${l.cell}:` : ''}${l.line}:${l.column}`)}</td><td>${esc(l.op)}</td><td>${esc(argsSummary(l))}</td>` +
          `<td class="n">${formatCount(l.params.before, l.symbolic?.params.before)}</td><td class="n">${after(l.params.after, l.symbolic?.params.after)}</td>` +
          `<td class="n">${formatCount(l.macs.before, l.symbolic?.macs.before)}</td><td class="n">${after(l.macs.after, l.symbolic?.macs.after)}</td>` +
          `<td class="n">${l.convertible && l.savings.params !== null ? percentDrop(l.savings.params) : ''}</td><td>${esc(l.convertible ? 'convertible' : `not converted: ${l.reason ?? ''}`)}</td></tr>`,
      );
    }
  }
  const inputs = [
    ...new Set(shown.result.files.flatMap((f) => f.layers.flatMap((l) => l.assumptions.filter((a) => a.startsWith('input '))))),
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1em; }
table { border-collapse: collapse; width: 100%; font-size: var(--vscode-editor-font-size); }
th, td { border-bottom: 1px solid var(--vscode-panel-border); padding: 3px 8px; text-align: left; white-space: nowrap; }
th { position: sticky; top: 0; background: var(--vscode-editor-background); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.kept td { color: var(--vscode-descriptionForeground); }
.totals { margin: 1em 0; font-weight: 600; }
</style></head><body>
<h2>SepConv report: ${esc(shown.scope)}</h2>
<p class="totals">${esc(totalsText(shown.result.totals))}</p>
<p>MACs per sample${inputs.length ? ` at ${esc(inputs.join(', '))}` : ''}; FLOPs = 2 × MACs. Export with the buttons in the title bar (Markdown, CSV, JSON).</p>
<table><thead><tr><th>Location</th><th>Layer</th><th>Arguments</th><th class="n">Params</th><th class="n">Separable</th><th class="n">MACs</th><th class="n">Separable</th><th class="n">Saving</th><th>Status</th></tr></thead>
<tbody>
${rows.join('\n') || '<tr><td colspan="9">No convolutions found.</td></tr>'}
</tbody></table>
</body></html>`;
}
