/**
 * Process entry of the language server (bundled to dist/server.js). The transport comes from the
 * command line: `--stdio` (any editor), `--node-ipc` (the VS Code client), `--socket=<port>`.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';

startServer(createConnection(ProposedFeatures.all));
