#!/usr/bin/env bash
# One-time, idempotent setup of the end-to-end test environment for the SepConv VS Code extension:
#   a REAL VS Code (code-server 4.100.3 = VS Code 1.100.3) in test/e2e/cs/, Debian Chromium, playwright-core, @vscode/vsce.
# Uses only Debian apt and the npm registry (no GitHub downloads). Run as root on Debian 12 with Node 20 / npm 11.
# Re-running is cheap (~seconds): every step checks whether its result is already there.
# Adapted from the shared recipe /work/shared/recipes/vscode-e2e/setup.sh.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
CS_VERSION="${CS_VERSION:-4.100.3}"   # last code-server whose engines.node is 20 (4.103+ need Node 22, 4.139 Node 24)
export TMPDIR="$HERE/tmp"; mkdir -p "$TMPDIR"
step() { echo "== [$(date +%H:%M:%S)] $*"; }

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != "20" ]; then
  echo "Node 20 is required (code-server $CS_VERSION's postinstall refuses other majors); found $(node --version)" >&2
  exit 1
fi

# 1) OS packages: browser, font, ripgrep (VS Code's search binary; replaces a GitHub download),
#    toolchain + krb5 headers for code-server's native modules (node-pty, kerberos, argon2 compile from source).
step "Debian packages"
need=()
for p in chromium fonts-dejavu-core ripgrep libkrb5-dev pkg-config g++ make python3; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >"$HERE/install-apt.log" 2>&1 ||
    { tail -40 "$HERE/install-apt.log"; echo "apt-get install FAILED (see install-apt.log)" >&2; exit 1; }
fi
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium missing after apt" >&2; exit 1; }

# 2) @vscode/ripgrep's postinstall downloads rg from GitHub. Pre-seed its download cache
#    ($TMPDIR/vscode-ripgrep-cache-<pkgver>) with a tarball of Debian's /usr/bin/rg so it never goes online.
#    Asset name per @vscode/ripgrep 1.15.11 (VERSION v13.0.0-10), the version code-server 4.100.3 pulls in.
step "seed ripgrep download cache"
RG_CACHE="$TMPDIR/vscode-ripgrep-cache-1.15.11"
RG_TGZ="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$RG_TGZ" ]; then
  mkdir -p "$RG_CACHE" "$TMPDIR/rgbuild"
  cp /usr/bin/rg "$TMPDIR/rgbuild/rg"
  tar czf "$RG_TGZ" -C "$TMPDIR/rgbuild" rg
fi

# 3) code-server from npm into ./cs (its own throwaway package; NOT a dependency in package.json).
#    Its postinstall (a) refuses root unless npm_config_unsafe_perm=true (npm 11 dropped the --unsafe-perm flag, but
#    the env var still reaches the script), (b) runs a nested `npm install` in lib/vscode whose node-pty postinstall
#    calls `npx node-gyp ...` -> needs npm_config_yes=true or npx aborts without a TTY.
#    argon2/kerberos try GitHub prebuilt binaries first, fail (ENOTFOUND github.com), then compile from source: fine.
step "code-server $CS_VERSION"
cs_ok() {
  [ -x cs/node_modules/.bin/code-server ] &&
    XDG_CONFIG_HOME="$TMPDIR/xdg-config" cs/node_modules/.bin/code-server --version 2>/dev/null | grep -q "^$CS_VERSION "
}
if ! cs_ok; then
  rm -rf cs && mkdir -p cs
  (cd cs && npm init -y >/dev/null &&
    XDG_CONFIG_HOME="$TMPDIR/xdg-config" npm_config_unsafe_perm=true npm_config_yes=true \
    npm install "code-server@$CS_VERSION" --no-audit --no-fund --foreground-scripts >"$HERE/install-cs.log" 2>&1) ||
    { tail -40 "$HERE/install-cs.log"; echo "code-server install FAILED (see install-cs.log)" >&2; exit 1; }
  cs_ok || { tail -40 "$HERE/install-cs.log"; echo "code-server installed but --version is not $CS_VERSION" >&2; exit 1; }
fi
XDG_CONFIG_HOME="$TMPDIR/xdg-config" cs/node_modules/.bin/code-server --version | head -1

# 4) this folder's own npm deps (playwright-core: no browser download; @vscode/vsce to build .vsix files).
#    `npm ci` from the committed package-lock.json; `npm install` only if there is no lock yet.
step "npm deps of test/e2e (playwright-core, @vscode/vsce)"
deps_ok() {
  node -e '
    const want = require("./package.json").dependencies;
    for (const [n, v] of Object.entries(want)) {
      let got; try { got = require(`./node_modules/${n}/package.json`).version; } catch { process.exit(1); }
      if (got !== v) process.exit(1);
    }' 2>/dev/null
}
if ! deps_ok; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
  deps_ok || { echo "npm deps do not match package.json" >&2; exit 1; }
fi

step "setup OK"
