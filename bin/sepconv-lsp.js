#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072 node --max-semi-space-size=2 --v8-pool-size=1
// The SepConv language server for any LSP editor: `sepconv-lsp --stdio`. The environment and flags on the first
// line are package.json's `sepconvServer.unset`, `.env` and `.nodeFlags` (a test keeps them equal); `node <flags>
// bin/sepconv-lsp.js` is the same with more resident memory (and a slower start where NODE_EXTRA_CA_CERTS is set).
if (!process.argv.slice(2).some((a) => a === '--stdio' || a.startsWith('--node-ipc') || a.startsWith('--socket') || a.startsWith('--pipe'))) {
  process.argv.push('--stdio');
}
require('../dist/server.js');
