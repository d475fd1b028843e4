/**
 * The VS Code extension (bundled to dist/extension.js): starts the SepConv language server and
 * registers the commands. Hover, inlay hints, code actions and CodeLens are the server's.
 */
import * as vscode from 'vscode';
import { COMMANDS } from './commands';
import { Ctx } from './ctx';

let ctx: Ctx | undefined;

export async function activate(extension: vscode.ExtensionContext): Promise<void> {
  ctx = await Ctx.start(extension);
  for (const [id, factory] of Object.entries(COMMANDS)) {
    extension.subscriptions.push(vscode.commands.registerCommand(id, factory(ctx)));
  }
}

export async function deactivate(): Promise<void> {
  await ctx?.stop();
  ctx = undefined;
}
