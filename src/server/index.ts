/**
 * Process entry of the language server (bundled to dist/server.js). The transport comes from the
 * command line: `--stdio` (any editor), `--node-ipc` (the VS Code client), `--socket=<port>`.
 *
 * The analysis worker thread is started first, then the rest of the server loads (`require`, not
 * `import`: imports would load before this module's first statement), so that the thread's start-up
 * (its bundle, the grammar, the warm-up) runs while the server's modules load and `initialize` is
 * answered, not after (`workerThread.ts`).
 */
import { DEFAULT_LIMITS } from './worker';
import { startEarly } from './workerThread';

startEarly(DEFAULT_LIMITS.memoryMb);

/* eslint-disable @typescript-eslint/no-require-imports */
const { createConnection, ProposedFeatures } = require('vscode-languageserver/node') as typeof import('vscode-languageserver/node');
const { startServer } = require('./server') as typeof import('./server');
/* eslint-enable @typescript-eslint/no-require-imports */

startServer(createConnection(ProposedFeatures.all));
