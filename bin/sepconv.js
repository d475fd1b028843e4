#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// The command, `sepconv`. The first line leaves out what package.json's `sepconvServer.unset` names (a test keeps
// them equal): Node reads the CA bundle NODE_EXTRA_CA_CERTS names at start, and the command makes no network connection.
require('../dist/cli.js');
