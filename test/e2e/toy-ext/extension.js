// Toy extension: hover, code action (refactor Conv2d -> SepConv2d), inlay hint, code lens. CommonJS.
const vscode = require('vscode');

const HOVER_MARKER = 'TOY_HOVER_MARKER';
const INLAY_MARKER = 'TOY_INLAY_MARKER';

function activate(context) {
  const sel = { language: 'python' };
  const out = vscode.window.createOutputChannel('Toy Python Ext');
  out.appendLine('TOY_ACTIVATED');

  // Visible activation signal in the DOM (status bar).
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 1000);
  item.text = 'TOY_ACTIVE';
  item.show();

  context.subscriptions.push(
    out,
    item,
    vscode.languages.registerHoverProvider(sel, {
      provideHover(doc, pos) {
        const range = doc.getWordRangeAtPosition(pos);
        const word = range ? doc.getText(range) : '';
        return new vscode.Hover(new vscode.MarkdownString(`${HOVER_MARKER} word=\`${word}\``), range);
      },
    }),

    vscode.languages.registerCodeActionsProvider(
      sel,
      {
        provideCodeActions(doc, range) {
          const wr = doc.getWordRangeAtPosition(range.start);
          if (!wr || doc.getText(wr) !== 'Conv2d') return [];
          const action = new vscode.CodeAction('Replace Conv2d with SepConv2d', vscode.CodeActionKind.RefactorRewrite);
          action.edit = new vscode.WorkspaceEdit();
          action.edit.replace(doc.uri, wr, 'SepConv2d');
          return [action];
        },
      },
      { providedCodeActionKinds: [vscode.CodeActionKind.RefactorRewrite] },
    ),

    // (added for test/e2e: code lens above each Conv2d line; its command shows TOY_LENS_CLICKED in the status bar)
    vscode.commands.registerCommand('toy.lensClicked', (line) => {
      item.text = `TOY_LENS_CLICKED line=${line + 1}`;
    }),
    vscode.languages.registerCodeLensProvider(sel, {
      provideCodeLenses(doc) {
        const lenses = [];
        for (let i = 0; i < doc.lineCount; i++) {
          if (/\bConv2d\b/.test(doc.lineAt(i).text)) {
            const r = doc.lineAt(i).range;
            lenses.push(new vscode.CodeLens(r, { title: 'TOY_LENS', command: 'toy.lensClicked', arguments: [i] }));
            lenses.push(new vscode.CodeLens(r, { title: 'TOY_LENS_2', command: '' }));
          }
        }
        return lenses;
      },
    }),

    vscode.languages.registerInlayHintsProvider(sel, {
      provideInlayHints(doc, range) {
        const hints = [];
        for (let i = range.start.line; i <= range.end.line && i < doc.lineCount; i++) {
          const line = doc.lineAt(i);
          if (/\bConv2d\b/.test(line.text)) {
            const h = new vscode.InlayHint(line.range.end, ` ${INLAY_MARKER}`, vscode.InlayHintKind.Type);
            h.paddingLeft = true;
            hints.push(h);
          }
        }
        return hints;
      },
    }),
  );
}

function deactivate() {}

module.exports = { activate, deactivate };
