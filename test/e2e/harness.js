// Reusable end-to-end harness: drive a REAL VS Code (code-server 4.100.3 = VS Code 1.100.3, installed by setup.sh into
// ./cs) with playwright-core + Debian Chromium (/usr/bin/chromium). CommonJS library, not a test.
// Adapted from the shared recipe /work/shared/recipes/vscode-e2e (run-test.js, notebook/nb-test.js).
//
//   const h = require('./harness');
//   const ed = await h.startEditor({ vsixPaths: ['x.vsix'], workspaceDir: 'fixtures/ws', settings: { ... } });
//   try {
//     await h.openFile(ed.page, 'model.py');
//     await h.waitForActivation(ed.logsDir, 'publisher.name');
//     const text = await h.hoverWord(ed.page, 7, 'Conv2d', { expect: /params/ });
//   } finally { await ed.stop(); }
//
// Env: HARNESS_STEP_TIMEOUT_MS (default 15000) per UI step · KEEP_RUN=1 keep runs/<run>/ after stop() ·
//      HARNESS_DEBUG=1 log re-triggers (hover / code-action races) ·
//      CHROMIUM=/usr/bin/chromium · HARNESS_HEADED=1 (needs a display) · HARNESS_SLOWMO=ms
// Conventions: lines and columns are 1-based (as in VS Code's UI); notebook cell indexes are 0-based (code cells and
// markdown cells share one index space: the row's data-index).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const http = require('http');
const crypto = require('crypto');
const { spawn, execFile } = require('child_process');

const ROOT = __dirname;
const CODE_SERVER = path.join(ROOT, 'cs/node_modules/.bin/code-server');
const VSCE = path.join(ROOT, 'node_modules/.bin/vsce');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = Number(process.env.HARNESS_STEP_TIMEOUT_MS || 15000);
const TIMEOUTS = { install: 120000, server: 60000, workbench: 60000, activate: 60000, step: STEP_MS };

// User settings for every run (the recipe's full settings.json): no trust prompt, no welcome/walkthrough race, no
// gallery / update / telemetry traffic, inlay hints always on and never truncated, hover delay short. `settings` in startEditor() merges
// over these.
const DEFAULT_SETTINGS = Object.freeze({
  'security.workspace.trust.enabled': false,
  'security.workspace.trust.startupPrompt': 'never',
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'window.restoreWindows': 'none',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'update.showReleaseNotes': false,
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'files.autoSave': 'off',
  'files.hotExit': 'off',
  'editor.inlayHints.enabled': 'on',
  'editor.inlayHints.maximumLength': 0, // default 43 cuts labels to "…" in the DOM; 0 = full text
  'editor.hover.enabled': true,
  'editor.hover.delay': 300,
  'editor.minimap.enabled': false,
  'editor.fontFamily': 'monospace',
  'editor.accessibilitySupport': 'off',
  'chat.commandCenter.enabled': false,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'notebook.experimental.remoteSave': false,
  'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'json.schemaDownload.enable': false,
  'terminal.integrated.enablePersistentSessions': false,
});

// ---------------------------------------------------------------------------------------------------------------
// selectors
// ---------------------------------------------------------------------------------------------------------------
const SEL = {
  workbench: '.monaco-workbench',
  explorerRow: '.explorer-folders-view .monaco-list-row',
  quickInput: '.quick-input-widget',
  quickInputBox: '.quick-input-widget input',
  quickInputRow: '.quick-input-list .monaco-list-row',
  // the text editor of the active editor group (only the active tab's editor of a group is in the DOM)
  activeEditor: '.editor-group-container.active .editor-instance .monaco-editor',
  activeTab: '.editor-group-container.active .tabs-container .tab.active',
  // editor hovers only: workbench tooltips (title bar, status bar, ...) are `.monaco-hover.workbench-hover`
  hover: '.monaco-hover:not(.workbench-hover):visible',
  actionRow: '.action-widget .monaco-list-row',
  statusSelection: '[id="status.editor.selection"]',
  // Notebook: `.editor-instance` only holds an empty placeholder; the real widget is an overlay on the workbench root.
  notebook: '.notebookOverlay:visible',
  cellRow: (i) => `.notebookOverlay:visible .monaco-list-row[data-index="${i}"]`,
  cellEditor: (i) => `.notebookOverlay:visible .monaco-list-row[data-index="${i}"] .cell-editor-container .monaco-editor`,
  codeCellRows: '.notebookOverlay:visible .monaco-list-row.code-cell-row',
};

// ---------------------------------------------------------------------------------------------------------------
// small utilities
// ---------------------------------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const debug = (...a) => {
  if (process.env.HARNESS_DEBUG) console.log('[harness]', ...a);
};

/**
 * Poll `fn` (sync or async) every intervalMs until it returns a truthy value; return that value. Throws after timeoutMs
 * (with the last error fn threw, if any). An error with `fatal: true` thrown by fn is rethrown at once.
 */
async function waitFor(fn, timeoutMs = TIMEOUTS.step, what = 'condition', intervalMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      if (e && e.fatal) throw e;
      last = e;
    }
    if (Date.now() >= end) break;
    await sleep(intervalMs);
  }
  throw new Error(`Timed out after ${timeoutMs}ms waiting for ${what}` + (last instanceof Error ? `: ${last.message}` : ''));
}

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

function httpOk(url) {
  return new Promise((res) => {
    const req = http.get(url, (r) => {
      r.resume();
      res(!!r.statusCode && r.statusCode < 500);
    });
    req.on('error', () => res(false));
    req.setTimeout(2000, () => {
      req.destroy();
      res(false);
    });
  });
}

function run(cmd, args, opts) {
  return new Promise((res, rej) => {
    execFile(cmd, args, { maxBuffer: 16 << 20, ...opts }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\nstdout: ${stdout}\nstderr: ${stderr}`;
        rej(err);
      } else res({ stdout, stderr });
    });
  });
}

const escapeRe = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const matches = (text, m) => (m instanceof RegExp ? m.test(text) : text.includes(m));
const normText = (s) => String(s).replace(/\u00a0/g, ' ');

/** Build a .vsix from an extension folder with @vscode/vsce. Returns the absolute output path. */
async function packageVsix(extDir, outFile, { noDependencies = false, extraArgs = [] } = {}) {
  const out = path.resolve(outFile);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const args = ['package', '--allow-missing-repository', '--skip-license', '-o', out, ...extraArgs];
  if (noDependencies) args.push('--no-dependencies');
  await run(VSCE, args, { cwd: extDir, timeout: 180000 });
  if (!fs.existsSync(out)) throw new Error(`vsce did not produce ${out}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// process bookkeeping: never leave a code-server process group behind, even if the test crashes
// ---------------------------------------------------------------------------------------------------------------
const liveServers = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveServers) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => process.exit(sig === 'SIGINT' ? 130 : 143));
  }
}

async function killGroup(pid, graceMs = 10000) {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

// ---------------------------------------------------------------------------------------------------------------
// startEditor
// ---------------------------------------------------------------------------------------------------------------
/**
 * Start a fresh VS Code: fresh user-data / extensions / browser-profile / XDG dirs under runs/<name>-<ts>/, install
 * the .vsix files with code-server's own extension manager, start code-server detached on a free loopback port,
 * launch Chromium via playwright-core and open the workspace folder.
 *
 * @param {object}   o
 * @param {string[]} [o.vsixPaths]        .vsix files to install (`--install-extension <vsix> --force`)
 * @param {string[]} [o.extensionFolders] unpacked extension folders to symlink into the extensions dir (dev loop, no vsce)
 * @param {string}   [o.workspaceDir]     template folder; COPIED to <runDir>/workspace (tests edit + save files there)
 * @param {object}   [o.files]            { 'rel/path.py': 'content' } written into the workspace (after the copy)
 * @param {boolean}  [o.copyWorkspace=true] false: open workspaceDir in place (files get modified by saves!)
 * @param {object}   [o.settings]         user settings merged over DEFAULT_SETTINGS (null values delete a key)
 * @param {string}   [o.name='run']       prefix of the run dir name
 * @param {object}   [o.env]              extra env for code-server (inherited by the extension host / LSP server)
 * @param {object}   [o.viewport]         default { width: 1400, height: 900 }
 * @returns {Promise<{page, context, baseUrl, port, runDir, workspaceDir, userDataDir, extensionsDir, logsDir,
 *                    serverLog, consoleErrors: string[], serverPid: number, timings: object, stop: Function}>}
 */
async function startEditor(o = {}) {
  const { chromium } = require('playwright-core');
  if (!fs.existsSync(CODE_SERVER)) throw new Error(`code-server not installed at ${CODE_SERVER}: run bash test/e2e/setup.sh`);
  const t0 = Date.now();
  const timings = {};
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = o.runDir || path.join(ROOT, 'runs', `${o.name || 'run'}-${stamp}-${crypto.randomBytes(3).toString('hex')}`);
  const dirs = {
    userData: path.join(runDir, 'user-data'),
    exts: path.join(runDir, 'extensions'),
    browser: path.join(runDir, 'chromium-profile'),
    xdg: path.join(runDir, 'xdg'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });

  // workspace
  let ws;
  if (o.workspaceDir && o.copyWorkspace === false) ws = path.resolve(o.workspaceDir);
  else {
    ws = path.join(runDir, 'workspace');
    fs.mkdirSync(ws, { recursive: true });
    if (o.workspaceDir) fs.cpSync(path.resolve(o.workspaceDir), ws, { recursive: true });
  }
  for (const [rel, content] of Object.entries(o.files || {})) {
    const f = path.join(ws, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, content);
  }

  // user settings
  const settings = { ...DEFAULT_SETTINGS, ...(o.settings || {}) };
  for (const k of Object.keys(settings)) if (settings[k] === null) delete settings[k];
  fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));

  // Short TMPDIR: VS Code puts IPC sockets there; a long path gives "IPC handle ... is longer than 107 chars".
  const shortTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-'));
  const env = {
    ...process.env,
    ...(o.env || {}),
    XDG_CONFIG_HOME: path.join(dirs.xdg, 'config'),
    XDG_DATA_HOME: path.join(dirs.xdg, 'data'),
    XDG_CACHE_HOME: path.join(dirs.xdg, 'cache'),
    TMPDIR: shortTmp,
  };
  const common = ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.exts];

  let server = null,
    context = null,
    page = null,
    stopped = false;
  const consoleErrors = [];
  const serverLog = path.join(runDir, 'code-server.log');

  async function stop({ keepRunDir = !!process.env.KEEP_RUN } = {}) {
    if (stopped) return;
    stopped = true;
    if (context) await Promise.race([context.close().catch(() => {}), sleep(10000)]);
    if (server) {
      if (server.exitCode === null && server.signalCode === null) await killGroup(server.pid);
      else {
        try {
          process.kill(-server.pid, 'SIGKILL');
        } catch {
          /* group gone */
        }
      }
      liveServers.delete(server.pid);
    }
    fs.rmSync(shortTmp, { recursive: true, force: true });
    if (consoleErrors.length) {
      try {
        fs.writeFileSync(path.join(runDir, 'browser-console-errors.txt'), consoleErrors.join('\n'));
      } catch {
        /* ignore */
      }
    }
    if (!keepRunDir) fs.rmSync(runDir, { recursive: true, force: true });
  }

  try {
    // 1) extensions
    let s = Date.now();
    for (const folder of o.extensionFolders || []) {
      // symlink as <publisher>.<name>-<version> into the fresh extensions dir (no extensions.json yet -> scanned)
      const pj = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8'));
      fs.symlinkSync(path.resolve(folder), path.join(dirs.exts, `${pj.publisher}.${pj.name}-${pj.version}`.toLowerCase()));
    }
    const vsix = (o.vsixPaths || []).map((p) => path.resolve(p));
    if (vsix.length) {
      for (const v of vsix) if (!fs.existsSync(v)) throw new Error(`vsix not found: ${v}`);
      const args = [...common];
      for (const v of vsix) args.push('--install-extension', v);
      args.push('--force');
      const { stdout, stderr } = await run(CODE_SERVER, args, { env, timeout: TIMEOUTS.install });
      const ok = (stdout.match(/successfully installed/gi) || []).length;
      if (ok < vsix.length) throw new Error(`extension install failed (${ok}/${vsix.length}):\n${stdout}\n${stderr}`);
    }
    timings.installExtensionsMs = Date.now() - s;

    // 2) code-server, detached: it leads its own process group (server, extension host, pty host) -> stop() ends
    //    exactly that group by its id.
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    s = Date.now();
    const logFd = fs.openSync(serverLog, 'w');
    server = spawn(
      CODE_SERVER,
      [
        ...common,
        '--auth',
        'none',
        '--bind-addr',
        `127.0.0.1:${port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--ignore-last-opened',
        ws,
      ],
      { env, detached: true, stdio: ['ignore', logFd, logFd] },
    );
    fs.closeSync(logFd);
    installExitHook();
    liveServers.add(server.pid);
    await waitFor(
      async () => {
        if (server.exitCode !== null || server.signalCode !== null) {
          throw Object.assign(new Error(`code-server exited (${server.exitCode ?? server.signalCode}); see ${serverLog}`), { fatal: true });
        }
        return httpOk(`${baseUrl}/healthz`);
      },
      TIMEOUTS.server,
      'code-server /healthz',
    ).catch((e) => {
      let tail = '';
      try {
        tail = fs.readFileSync(serverLog, 'utf8').split('\n').slice(-20).join('\n');
      } catch {
        /* none */
      }
      throw new Error(`${e.message}\n--- code-server.log (tail) ---\n${tail}`);
    });
    timings.serverUpMs = Date.now() - s;

    // 3) Chromium (Debian's) through playwright-core. As root Chromium needs --no-sandbox (Playwright adds it anyway).
    s = Date.now();
    context = await chromium.launchPersistentContext(dirs.browser, {
      executablePath: CHROMIUM,
      headless: !process.env.HARNESS_HEADED,
      timeout: 60000,
      slowMo: Number(process.env.HARNESS_SLOWMO || 0) || undefined,
      viewport: o.viewport || { width: 1400, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    });
    timings.browserLaunchMs = Date.now() - s;
    page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(TIMEOUTS.step);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('requestfailed', (r) => consoleErrors.push(`REQUEST FAILED ${r.url()} ${r.failure() && r.failure().errorText}`));

    // 4) workbench on the folder
    s = Date.now();
    await page.goto(`${baseUrl}/?folder=${encodeURIComponent(ws)}`, { timeout: TIMEOUTS.workbench });
    await page.waitForSelector(SEL.workbench, { timeout: TIMEOUTS.workbench });
    if (fs.readdirSync(ws).length) await page.waitForSelector(SEL.explorerRow, { timeout: TIMEOUTS.workbench });
    // give the page keyboard focus (empty editor area: no caret is moved)
    await page
      .locator(SEL.workbench)
      .click({ position: { x: 700, y: 400 } })
      .catch(() => {});
    timings.workbenchReadyMs = Date.now() - s;
    timings.startEditorMs = Date.now() - t0;

    return {
      page,
      context,
      baseUrl,
      port,
      runDir,
      workspaceDir: ws,
      userDataDir: dirs.userData,
      extensionsDir: dirs.exts,
      logsDir: path.join(dirs.userData, 'logs'),
      serverLog,
      consoleErrors,
      serverPid: server.pid,
      timings,
      stop,
    };
  } catch (e) {
    if (page) await screenshot(page, path.join(runDir, 'startEditor-error.png'));
    await stop({ keepRunDir: true });
    e.message += ` (run dir kept: ${runDir})`;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// logs
// ---------------------------------------------------------------------------------------------------------------
/** Paths of the extension-host log files (<logsDir>/<ts>/exthost<N>/remoteexthost.log), newest session first. */
function extHostLogFiles(logsDir) {
  if (!fs.existsSync(logsDir)) return [];
  const out = [];
  for (const ts of fs.readdirSync(logsDir).sort().reverse()) {
    const d = path.join(logsDir, ts);
    if (!fs.statSync(d).isDirectory()) continue;
    for (const h of fs.readdirSync(d)) {
      const f = path.join(d, h, 'remoteexthost.log');
      if (h.startsWith('exthost') && fs.existsSync(f)) out.push(f);
    }
  }
  return out;
}

/** Text of all extension-host logs. */
function extHostLog(logsDir) {
  return extHostLogFiles(logsDir)
    .map((f) => fs.readFileSync(f, 'utf8'))
    .join('\n');
}

/**
 * [error] entries of the extension-host log that mention the extension (its id, or the name part of the id), each with
 * its continuation lines (the error message and stack that follow "Activating extension X failed due to an error:").
 */
function extHostErrors(logsDir, extensionId) {
  const name = extensionId.split('.').pop();
  const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/;
  const lines = extHostLog(logsDir).split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/\[error\]/.test(lines[i])) continue;
    // an entry = this line + following [error] lines of the same timestamp / untimestamped lines
    let j = i + 1;
    const ts = lines[i].slice(0, 23);
    while (j < lines.length && (!stamp.test(lines[j]) || (lines[j].startsWith(ts) && /\[error\]/.test(lines[j])))) j++;
    const entry = lines.slice(i, j).join('\n');
    if (entry.includes(extensionId) || entry.includes(name)) out.push(entry);
    i = j - 1;
  }
  return out;
}

/**
 * Wait until the extension host logs `ExtensionService#_doActivateExtension <id>` (the generic activation signal, no
 * UI needed) and return that log line. Throws (with the error + stack from the log) as soon as the log reports
 * "Activating extension <id> failed", including during graceMs after the activation line.
 * opts: number (= timeoutMs) or { timeoutMs = 60000, graceMs = 500 }
 */
async function waitForActivation(logsDir, extensionId, opts = {}) {
  const { timeoutMs = TIMEOUTS.activate, graceMs = 500 } = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const esc = escapeRe(extensionId);
  const ok = new RegExp(`_doActivateExtension ${esc}\\b.*`, 'i');
  const bad = new RegExp(`Activating extension '?${esc}'? failed`, 'i');
  const failure = (log) => {
    const lines = log.split('\n');
    const i = lines.findIndex((l) => bad.test(l));
    return i < 0 ? null : lines.slice(i, i + 4).join('\n'); // the error + stack follow the "failed" line
  };
  const line = await waitFor(
    () => {
      const log = extHostLog(logsDir);
      const f = failure(log);
      if (f) throw Object.assign(new Error(f), { fatal: true });
      const m = ok.exec(log);
      return m && m[0];
    },
    timeoutMs,
    `activation of ${extensionId} in remoteexthost.log`,
  );
  // A throwing activate() is logged shortly AFTER the activation line (there is no "activated OK" line): watch the log
  // for graceMs more. A later async failure is not caught here: check extHostErrors() at the end of a test.
  const end = Date.now() + graceMs;
  do {
    const f = failure(extHostLog(logsDir));
    if (f) throw new Error(f);
    await sleep(100);
  } while (Date.now() < end);
  return line;
}

/**
 * Contents of an extension's output channel (vscode.window.createOutputChannel(name)), as logged by the extension host
 * to <logsDir>/<ts>/exthost<N>/output_logging_<ts>/<n>-<name>.log. Returns '' if there is none (yet).
 */
function readOutputChannel(logsDir, channelName) {
  let text = '';
  for (const f of extHostLogFiles(logsDir)) {
    const dir = path.dirname(f);
    for (const sub of fs.readdirSync(dir)) {
      if (!sub.startsWith('output_logging_')) continue;
      for (const file of fs.readdirSync(path.join(dir, sub))) {
        if (file.replace(/^\d+-/, '').replace(/\.log$/, '') === channelName) text += fs.readFileSync(path.join(dir, sub, file), 'utf8');
      }
    }
  }
  return text;
}

// ---------------------------------------------------------------------------------------------------------------
// generic workbench actions
// ---------------------------------------------------------------------------------------------------------------
async function screenshot(page, file) {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file });
    return file;
  } catch {
    return null;
  }
}

/** Wait until the quick input (palette / quick open / go to line) is closed. */
async function waitQuickInputClosed(page, timeout = TIMEOUTS.step) {
  await page.waitForSelector(SEL.quickInput, { state: 'hidden', timeout });
}

async function openQuickInput(page, key) {
  await page.keyboard.press(key);
  await page.waitForSelector(SEL.quickInputBox, { state: 'visible' });
}

/** { label, desc, focused } of the rows currently in the quick input list. */
const quickInputRows = (page) =>
  page.locator(SEL.quickInputRow).evaluateAll((rows) =>
    rows.map((r) => {
      const t = (s) => (s || '').replace(/\u00a0/g, ' ').trim();
      const name = r.querySelector('.label-name');
      const desc = r.querySelector('.label-description');
      return {
        label: t(name ? name.textContent : r.getAttribute('aria-label')),
        desc: t(desc && desc.textContent),
        focused: r.classList.contains('focused'),
      };
    }),
  );

/**
 * Keyboard-select the quick-input row for which `isRow(label, description)` is true and press Enter (Enter on the first
 * row can pick a fuzzy neighbour). label = `.label-name` (falls back to aria-label), description = `.label-description`
 * (Quick Open: the file's folder).
 */
async function pickQuickInputRow(page, isRow, what) {
  let rows = [];
  await waitFor(
    async () => {
      rows = await quickInputRows(page);
      return rows.some((r) => isRow(r.label, r.desc));
    },
    TIMEOUTS.step,
    `quick-input row ${what}`,
    100,
  ).catch(async (e) => {
    await page.keyboard.press('Escape');
    throw new Error(`${e.message}; rows: ${JSON.stringify(rows.slice(0, 10))}`);
  });
  for (let i = 0; i <= rows.length + 1; i++) {
    const focused = (await quickInputRows(page)).find((r) => r.focused);
    if (focused && isRow(focused.label, focused.desc)) {
      await page.keyboard.press('Enter');
      return;
    }
    await page.keyboard.press('ArrowDown');
  }
  await page.keyboard.press('Escape');
  throw new Error(`could not focus quick-input row ${what}`);
}

/**
 * Open a workspace file with Quick Open (Ctrl+P) and wait until it is the active editor. `name` is a workspace-relative
 * path ('src/model.py') or a bare file name: a bare name prefers the file at the workspace root, else the first file of
 * that name Quick Open lists. The opened path is checked against the breadcrumbs. For .ipynb use openNotebook().
 * opts: { waitForText } also wait until the editor shows this text.
 */
async function openFile(page, name, { waitForText } = {}) {
  const rel = name.replace(/\\/g, '/').replace(/^\.\//, '');
  const base = path.posix.basename(rel);
  const dir = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
  await openQuickInput(page, 'Control+P');
  await page.keyboard.type(rel);
  // Quick Open lists "recently opened" rows at once and file-search results ~100 ms later. An exact match (name and
  // folder) is taken at once; a bare name whose root-level file isn't listed falls back to the first row with that
  // name once the list has been unchanged for 5 polls (~0.5 s: the search is done). Ambiguous names: pass the path.
  let rows = [],
    prevKey = '',
    sameFor = 0;
  const target = await waitFor(
    async () => {
      rows = await quickInputRows(page);
      const exact = rows.find((r) => r.label === base && r.desc === dir);
      if (exact) return exact;
      const key = JSON.stringify(rows);
      sameFor = key === prevKey ? sameFor + 1 : 0;
      prevKey = key;
      if (sameFor < 5) return null;
      if (rows.length === 1 && rows[0].label === 'No matching results') {
        throw Object.assign(new Error(`Quick Open: no file matches "${rel}"`), { fatal: true });
      }
      return (!dir && rows.find((r) => r.label === base)) || null;
    },
    TIMEOUTS.step,
    `Quick Open row for "${rel}"`,
    100,
  ).catch(async (e) => {
    await page.keyboard.press('Escape');
    throw new Error(`${e.message}; rows: ${JSON.stringify(rows)}`);
  });
  await pickQuickInputRow(page, (l, d) => l === target.label && d === target.desc, `"${rel}"`);
  await waitQuickInputClosed(page);
  const want = (target.desc ? `${target.desc}/${base}` : base).split('/');
  let crumbs = [];
  await waitFor(
    async () => {
      if (!(await page.locator(`${SEL.activeTab}[data-resource-name="${base}"]`).count())) return false;
      // breadcrumbs (on by default): folder segments + file name (+ symbols) of the active editor
      const bc = page.locator('.editor-group-container.active .breadcrumbs-control');
      if (!(await bc.count())) return true; // breadcrumbs turned off
      crumbs = await bc
        .locator('.monaco-breadcrumb-item')
        .evaluateAll((items) => items.map((i) => i.textContent.replace(/\u00a0/g, ' ').trim()));
      return want.every((w, i) => crumbs[i] === w);
    },
    TIMEOUTS.step,
    `"${want.join('/')}" to be the active editor`,
  ).catch(async (e) => {
    const tab = await page
      .locator(SEL.activeTab)
      .first()
      .getAttribute('aria-label')
      .catch(() => '?');
    throw new Error(`${e.message}; active tab "${tab}", breadcrumbs ${JSON.stringify(crumbs)}`);
  });
  if (!base.endsWith('.ipynb')) {
    await page.waitForSelector(`${SEL.activeEditor} .view-lines`);
    if (waitForText) await page.locator(`${SEL.activeEditor} .view-lines`, { hasText: waitForText }).waitFor();
  }
}

/**
 * Run a command by its Command Palette title (F1, type, keyboard-select the row whose label equals `title`, Enter).
 * Waits until the palette is gone (or replaced by a quick pick the command opened).
 */
async function runCommand(page, title) {
  await openQuickInput(page, 'F1');
  await page.keyboard.type(title);
  await pickQuickInputRow(page, (l) => l === title, `"${title}"`);
  await waitFor(
    async () => {
      if (!(await page.locator(SEL.quickInputBox).isVisible())) return true;
      const v = await page
        .locator(SEL.quickInputBox)
        .inputValue()
        .catch(() => '');
      return !v.startsWith('>'); // a quick pick opened by the command itself
    },
    TIMEOUTS.step,
    `palette to close after "${title}"`,
  );
}

/** Ctrl+S and wait until the active tab is no longer dirty. */
async function save(page) {
  await page.keyboard.press('Control+S');
  await page.waitForSelector(`${SEL.activeTab}.dirty`, { state: 'detached' });
}

/** Poll a file until predicate(content) is truthy (content '' while missing); return the content. */
async function waitForFile(file, predicate = () => true, timeoutMs = TIMEOUTS.step) {
  let last = null;
  try {
    return await waitFor(
      () => {
        if (!fs.existsSync(file)) return false;
        last = fs.readFileSync(file, 'utf8');
        return predicate(last) ? last : false;
      },
      timeoutMs,
      `file ${file} to match`,
    );
  } catch (e) {
    e.message += last == null ? ' (file missing)' : `; last content:\n${last.slice(0, 2000)}`;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// editor-level helpers. `opts.cell` (0-based notebook cell index) targets a cell editor of the visible notebook
// instead of the active text editor.
// ---------------------------------------------------------------------------------------------------------------
const editorSel = (opts = {}) => (opts.cell != null ? SEL.cellEditor(opts.cell) : SEL.activeEditor);

/** Is keyboard focus inside the target editor? */
async function editorFocused(page, opts) {
  return (await page.locator(`${editorSel(opts)}.focused`).count()) > 0;
}

/** Focus the target editor (text editor: click its text; cell: click into the cell editor -> edit mode). */
async function focusEditor(page, opts = {}) {
  if (await editorFocused(page, opts)) return;
  const sel = editorSel(opts);
  const first = page.locator(`${sel} .view-line`).first();
  await first.waitFor();
  const b = await first.boundingBox();
  await page.mouse.click(b.x + 2, b.y + b.height / 2);
  await page.waitForSelector(`${sel}.focused`);
}

/**
 * Move the caret with Go to Line (Ctrl+G, "line:col", Enter). 1-based. In a text editor the status bar
 * ("Ln x, Col y") is checked; in a notebook cell (opts.cell) Go to Line is scoped to that cell.
 */
async function gotoLine(page, line, col = 1, opts = {}) {
  await focusEditor(page, opts);
  await openQuickInput(page, 'Control+G');
  await page.keyboard.type(`${line}:${col}`);
  await page.keyboard.press('Enter');
  await waitQuickInputClosed(page);
  if (opts.cell == null) {
    // NB the status bar counts a tab as tabSize columns; Go to Line takes character columns
    let t = '';
    await waitFor(
      async () => {
        t = await page
          .locator(SEL.statusSelection)
          .innerText()
          .catch(() => '');
        return new RegExp(`^Ln ${line}, Col ${col}\\b`).test(t);
      },
      TIMEOUTS.step,
      `status bar "Ln ${line}, Col ${col}"`,
    ).catch((e) => {
      throw new Error(`${e.message}; status bar shows "${t}" (line shorter than col? tabs?)`);
    });
  }
}

/**
 * The target editor's element (text editor or notebook cell, as `editorSel` names it), or null. `:visible` is
 * Playwright-only: the visible notebook overlay is resolved by hand.
 */
async function editorElement(page, opts = {}) {
  const handle = await page.evaluateHandle((sel) => {
    let scope = document;
    if (sel.startsWith('.notebookOverlay:visible')) {
      scope = Array.from(document.querySelectorAll('.notebookOverlay')).find((e) => e.getClientRects().length);
      if (!scope) return null;
      sel = sel.replace('.notebookOverlay:visible ', '');
    }
    return scope.querySelector(sel);
  }, editorSel(opts));
  const el = handle.asElement();
  if (!el) await handle.dispose();
  return el;
}

/** fn(editorElement, arg) run in the page on the target editor; `none` when there is no such editor. */
async function inEditor(page, opts, none, fn, arg) {
  const ed = await editorElement(page, opts);
  if (!ed) return none;
  try {
    return await ed.evaluate(fn, arg);
  } finally {
    await ed.dispose();
  }
}

/**
 * Screen box of the `occurrence`-th whole-word `word` on 1-based `line` of the target editor, from a DOM Range over the text
 * nodes (token spans merge, e.g. " nn.Conv2d", so spans can't be used). Injected text (inlay hints, decorations) is
 * skipped. Line numbers come from the line-number gutter if there is one; else (notebook cells: no gutter, all lines
 * rendered) from the vertical order of the rendered lines. The line must be rendered (scrolled into view).
 */
async function wordBox(page, line, word, opts = {}) {
  const box = await inEditor(
    page,
    opts,
    { err: `no editor ${editorSel(opts)}` },
    (ed, { line, word, occurrence }) => {
      const top = (el) => Math.round(el.getBoundingClientRect().top);
      const viewLines = Array.from(ed.querySelectorAll('.view-lines .view-line')).sort((a, b) => top(a) - top(b));
      let target = null;
      const nums = Array.from(ed.querySelectorAll('.margin-view-overlays .line-numbers'));
      if (nums.length) {
        const num = nums.find((n) => n.textContent.trim() === String(line));
        if (!num) return { err: `line ${line} not rendered (rendered: ${nums.map((n) => n.textContent.trim()).join(',')})` };
        target = viewLines.find((v) => Math.abs(top(v) - top(num)) <= 2);
      } else {
        target = viewLines[line - 1];
      }
      if (!target) return { err: `line ${line} not found (${viewLines.length} lines rendered)` };
      const injected = (n) => {
        for (let p = n.parentElement; p && p !== target; p = p.parentElement) {
          if (/dyn-rule|ced-|inlay/.test(p.className)) return true;
        }
        return false;
      };
      // concatenate the line's own text nodes, find the occurrence, map back to (node, offset)
      const walker = document.createTreeWalker(target, NodeFilter.SHOW_TEXT);
      const parts = [];
      let text = '';
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (injected(n)) continue;
        parts.push({ n, start: text.length });
        text += n.textContent;
      }
      text = text.replace(/\u00a0/g, ' ');
      // whole-word occurrences only ("x" must not match the x in "export")
      const w = /\w/;
      const whole = (i) =>
        !(w.test(word[0]) && i > 0 && w.test(text[i - 1])) && !(w.test(word[word.length - 1]) && w.test(text[i + word.length] || ''));
      let idx = -1;
      for (let k = 0; k < occurrence; k++) {
        do {
          idx = text.indexOf(word, idx + 1);
        } while (idx >= 0 && !whole(idx));
        if (idx < 0) break;
      }
      if (idx < 0) return { err: `"${word}" #${occurrence} not on line ${line}: ${JSON.stringify(text)}` };
      const at = (off) => {
        let p = parts[0];
        for (const q of parts) if (q.start <= off) p = q;
        return [p.n, off - p.start];
      };
      const r = document.createRange();
      r.setStart(...at(idx));
      r.setEnd(...at(idx + word.length - 1));
      r.setEnd(r.endContainer, r.endOffset + 1);
      const b = r.getBoundingClientRect();
      return { x: b.x, y: b.y, width: b.width, height: b.height, column: idx + 1, lineText: text };
    },
    { line, word, occurrence: opts.occurrence || 1 },
  );
  if (box.err) throw new Error(box.err);
  return box;
}

/** Visible hover text(s) joined by '\n---\n'. */
async function visibleHoverText(page) {
  return normText((await page.locator(SEL.hover).allInnerTexts()).join('\n---\n')).trim();
}

/**
 * Wait for a hover: with opts.expect (string | RegExp) until the visible hover matches; without, until a non-empty,
 * non-"Loading..." hover text is stable across two reads. Returns the hover text.
 * opts.retrigger: async fn called every opts.retriggerMs (2000) while there is no (matching) hover. A hover is computed
 * once per mouse arrival / keypress: if the provider wasn't ready (language server still starting), VS Code shows
 * nothing and never asks again, so the caller re-hovers like a user would.
 */
async function waitForHover(page, { expect, timeoutMs = TIMEOUTS.step, retrigger, retriggerMs = 2000 } = {}) {
  let seen = '',
    prev = null,
    lastTrigger = Date.now();
  try {
    return await waitFor(
      async () => {
        seen = await visibleHoverText(page);
        let done = false;
        if (seen && !/^Loading\.\.\.$/m.test(seen)) {
          if (expect) done = matches(seen, expect);
          else {
            done = prev === seen;
            prev = seen;
          }
        } else prev = null;
        if (done) return seen;
        if (retrigger && Date.now() - lastTrigger >= retriggerMs) {
          debug(`hover: re-trigger (showing ${JSON.stringify(seen)})`);
          await retrigger();
          lastTrigger = Date.now();
          prev = null;
        }
        return false;
      },
      timeoutMs,
      `hover${expect ? ` matching ${expect}` : ''}`,
      150,
    );
  } catch (e) {
    throw new Error(`${e.message}; visible hover: ${JSON.stringify(seen)}`);
  }
}

/** Close any hover (mouse away + Escape). */
async function dismissHover(page) {
  await page.mouse.move(2, 2);
  if (await page.locator(SEL.hover).count()) await page.keyboard.press('Escape');
  await page.waitForSelector(SEL.hover, { state: 'hidden' }).catch(() => {});
}

/**
 * Hover the mouse over `word` (whole word) on 1-based `line` and return the hover text (re-hovers every 2 s until the
 * hover shows/matches: see waitForHover).
 * opts: { cell, occurrence = 1, expect: string|RegExp, keep: false (leave the hover open), timeoutMs }
 */
async function hoverWord(page, line, word, opts = {}) {
  await dismissHover(page);
  // measure again on every (re-)hover: code lenses / view zones arriving late shift the lines down
  const moveIn = async () => {
    const b = await wordBox(page, line, word, opts);
    const y = b.y + b.height / 2;
    await page.mouse.move(Math.max(1, b.x - 40), y);
    await page.mouse.move(b.x + b.width / 2, y, { steps: 5 });
  };
  await moveIn();
  const text = await waitForHover(page, {
    ...opts,
    retrigger: async () => {
      await dismissHover(page);
      await moveIn();
    },
  });
  if (!opts.keep) await dismissHover(page);
  return text;
}

/**
 * Show the hover at the caret (Ctrl+K Ctrl+I = editor.action.showHover) and return its text (re-triggers every 2 s
 * until it shows/matches). opts as hoverWord.
 */
async function hoverAtCursor(page, opts = {}) {
  const trigger = async () => {
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+I');
  };
  await trigger();
  const text = await waitForHover(page, {
    ...opts,
    // with a hover open, Ctrl+K Ctrl+I only focuses it: close it first (Escape) so the hover is computed afresh
    retrigger: async () => {
      await dismissHover(page);
      await trigger();
    },
  });
  if (!opts.keep) await dismissHover(page);
  return text;
}

/** Put the caret inside `word` on `line` (Go to Line to the word's middle column). Returns the 1-based column used. */
async function gotoWord(page, line, word, opts = {}) {
  const b = await wordBox(page, line, word, opts);
  const col = b.column + Math.floor(word.length / 2);
  await gotoLine(page, line, col, opts);
  return col;
}

/**
 * Inlay hint label texts currently rendered in the target editor, top to bottom (trimmed, nbsp -> space, empty padding
 * spans dropped). Inlay hints are injected text: `<span class="dyn-rule-…">` inside `.view-line`. A hint whose label is
 * an array of parts renders one span per part, so it shows up as several entries.
 * opts: { cell, line (1-based; text editors need the gutter, cells count rendered lines), minCount (wait until at least
 *         that many, default 0 = snapshot), timeoutMs }
 */
async function inlayHints(page, opts = {}) {
  const read = () =>
    inEditor(
      page,
      opts,
      [],
      (ed, { line }) => {
        const top = (el) => Math.round(el.getBoundingClientRect().top);
        let lines = Array.from(ed.querySelectorAll('.view-lines .view-line')).sort((a, b) => top(a) - top(b));
        if (line != null) {
          const nums = Array.from(ed.querySelectorAll('.margin-view-overlays .line-numbers'));
          if (nums.length) {
            const num = nums.find((n) => n.textContent.trim() === String(line));
            lines = num ? lines.filter((v) => Math.abs(top(v) - top(num)) <= 2) : [];
          } else lines = lines[line - 1] ? [lines[line - 1]] : [];
        }
        const out = [];
        for (const l of lines) {
          const spans = Array.from(l.querySelectorAll('span[class*="dyn-rule"]')).sort(
            (a, b) => a.getBoundingClientRect().left - b.getBoundingClientRect().left,
          );
          for (const s of spans) {
            if (s.querySelector('span[class*="dyn-rule"]')) continue; // only leaves
            const t = s.textContent.replace(/\u00a0/g, ' ').trim();
            if (t) out.push(t);
          }
        }
        return out;
      },
      { line: opts.line },
    );
  const min = opts.minCount || 0;
  if (!min) return read();
  return waitFor(
    async () => {
      const h = await read();
      return h.length >= min && h;
    },
    opts.timeoutMs || TIMEOUTS.step,
    `${min} inlay hint(s)${opts.line != null ? ` on line ${opts.line}` : ''}`,
  );
}

/** Wait until an inlay hint whose label matches (string: substring, RegExp) is rendered; returns its text. */
async function waitForInlayHint(page, match, opts = {}) {
  let seen = [];
  try {
    return await waitFor(
      async () => {
        seen = await inlayHints(page, { ...opts, minCount: 0 });
        return seen.find((t) => matches(t, match));
      },
      opts.timeoutMs || TIMEOUTS.step,
      `inlay hint matching ${match}`,
      150,
    );
  } catch (e) {
    throw new Error(`${e.message}; rendered hints: ${JSON.stringify(seen)}`);
  }
}

/**
 * Code lens titles rendered in the target editor, top to bottom, left to right. Each lens line is a content widget
 * `.codelens-decoration` holding `<a role=button>` (lens with a command) / `<span>` (no command), separated by " | ".
 * opts: { cell, minCount (wait until at least that many, default 0 = snapshot), timeoutMs }
 */
async function codeLenses(page, opts = {}) {
  const read = () =>
    inEditor(page, opts, [], (ed) => {
      const decos = Array.from(ed.querySelectorAll('.codelens-decoration')).sort(
        (a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top,
      );
      const out = [];
      for (const d of decos) {
        for (const el of d.children) {
          const t = el.textContent.replace(/\u00a0/g, ' ').trim();
          if (t && t !== '|') out.push(t);
        }
      }
      return out;
    });
  const min = opts.minCount || 0;
  if (!min) return read();
  return waitFor(
    async () => {
      const l = await read();
      return l.length >= min && l;
    },
    opts.timeoutMs || TIMEOUTS.step,
    `${min} code lens(es)`,
  );
}

/** Click the code lens whose title matches (string: exact, RegExp) in the target editor; waits for it first. */
async function clickCodeLens(page, title, opts = {}) {
  const re = title instanceof RegExp ? title : new RegExp(`^\\s*${escapeRe(title)}\\s*$`);
  const lens = page.locator(`${editorSel(opts)} .codelens-decoration a`, { hasText: re }).first();
  await lens.waitFor({ timeout: opts.timeoutMs || TIMEOUTS.step }).catch(async (e) => {
    throw new Error(`${e.message.split('\n')[0]}; code lenses: ${JSON.stringify(await codeLenses(page, opts))}`);
  });
  await lens.click();
}

// aria-labels of the visible, selectable rows of the code-action menu (group headers like "Rewrite" / separators skipped)
const actionLabels = (page) =>
  page.locator(`${SEL.actionRow}:visible`).evaluateAll((rows) =>
    rows
      .filter((r) => !r.classList.contains('group-header') && !r.classList.contains('separator'))
      .map((r) => r.getAttribute('aria-label') || r.innerText)
      .filter(Boolean),
  );
const NO_ACTIONS_MSG = '.monaco-editor-overlaymessage:visible'; // "No code actions available"

/** Close the code-action menu / "No code actions available" message if shown. */
async function closeCodeActions(page) {
  if (await page.locator(`${SEL.actionRow}:visible, ${NO_ACTIONS_MSG}`).count()) await page.keyboard.press('Escape');
  await page.waitForSelector(`${SEL.actionRow}:visible`, { state: 'detached', timeout: 3000 }).catch(() => {});
  await page.waitForSelector(NO_ACTIONS_MSG, { state: 'detached', timeout: 3000 }).catch(() => {});
}

/**
 * Ctrl+. at the caret until the menu offers what we want. Observed race (~1 in 10 runs): a Ctrl+. right after the
 * caret moved answers "No code actions available" although the light bulb shows actions -> close and press again, as a
 * user would (after that message, or after retriggerMs without a menu / without the wanted row).
 * want: predicate on the label list (default: non-empty). With `acceptEmptyAfter` = n, n consecutive "No code actions
 * available" answers return [] instead of retrying. Resolves to the offered labels with the menu OPEN (or [] closed).
 */
async function showCodeActions(
  page,
  { want = (l) => l.length > 0, acceptEmptyAfter = 0, timeoutMs = TIMEOUTS.step, retriggerMs = 2000 } = {},
) {
  let last = 0,
    empties = 0,
    offered = [];
  const trigger = async () => {
    await page.keyboard.press('Control+.');
    last = Date.now();
  };
  await trigger();
  try {
    return await waitFor(
      async () => {
        offered = await actionLabels(page);
        if (offered.length && want(offered)) return offered;
        const noActions = !offered.length && (await page.locator(NO_ACTIONS_MSG).count()) > 0;
        if (noActions && acceptEmptyAfter && ++empties >= acceptEmptyAfter) {
          await closeCodeActions(page);
          return [];
        }
        if (noActions || Date.now() - last >= retriggerMs) {
          debug(
            `code actions: re-trigger (${noActions ? '"No code actions available"' : `no wanted row after ${retriggerMs} ms`}; offered ${JSON.stringify(offered)})`,
          );
          await closeCodeActions(page);
          await trigger();
        }
        return false;
      },
      timeoutMs,
      'code-action menu',
      150,
    );
  } catch (e) {
    await closeCodeActions(page);
    throw new Error(`${e.message}; offered: ${JSON.stringify(offered)}`);
  }
}

/** Open the code-action menu (Ctrl+.) at the caret and return the offered action labels (menu stays open). */
async function openCodeActions(page, opts = {}) {
  return showCodeActions(page, opts);
}

/**
 * Labels of the code actions offered at the caret (opens and closes the menu). [] when VS Code answers "No code actions
 * available" twice in a row.
 */
async function listCodeActions(page, { timeoutMs = TIMEOUTS.step } = {}) {
  const labels = await showCodeActions(page, { acceptEmptyAfter: 2, timeoutMs });
  await closeCodeActions(page);
  return labels;
}

/**
 * Run the code action `label` (exact aria-label, or RegExp) at the caret: Ctrl+., keyboard-focus the row (mouse clicks
 * are swallowed by `.context-view-pointerBlock`), Enter. Put the caret first with gotoLine/gotoWord.
 */
async function runCodeAction(page, label, { timeoutMs = TIMEOUTS.step } = {}) {
  const isIt = (l) => (label instanceof RegExp ? label.test(l || '') : l === label);
  const offered = await showCodeActions(page, { want: (ls) => ls.some(isIt), timeoutMs }).catch((e) => {
    throw new Error(`code action ${label} not offered: ${e.message}`);
  });
  for (let i = 0; i <= offered.length + 1; i++) {
    const focused = await page
      .locator(`${SEL.actionRow}.focused`)
      .first()
      .getAttribute('aria-label', { timeout: 1000 })
      .catch(() => null);
    if (isIt(focused)) {
      await page.keyboard.press('Enter');
      await page.waitForSelector(`${SEL.actionRow}:visible`, { state: 'detached' }).catch(() => {});
      return;
    }
    await page.keyboard.press('ArrowDown');
  }
  await closeCodeActions(page);
  throw new Error(`could not focus code action ${label}; offered: ${JSON.stringify(offered)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// notebooks (.ipynb through the built-in vscode.ipynb serializer; never run cells: there is no kernel)
// ---------------------------------------------------------------------------------------------------------------
/** Open an .ipynb with Quick Open; waits for the notebook widget and its cells. Returns the number of code cells. */
async function openNotebook(page, name, { waitForText } = {}) {
  await openFile(page, name);
  await page.locator(SEL.codeCellRows).first().waitFor();
  await page.locator(`${SEL.notebook} .cell-editor-container .monaco-editor .view-lines`).first().waitFor();
  if (waitForText) await page.locator(`${SEL.notebook} .cell-editor-container .view-lines`, { hasText: waitForText }).first().waitFor();
  return page.locator(SEL.codeCellRows).count();
}

/**
 * Text of a cell as rendered (all its lines are rendered), lines in screen order, without injected text (inlay hints),
 * nbsp -> space.
 */
async function cellText(page, cell) {
  await page.locator(`${SEL.cellEditor(cell)} .view-lines`).waitFor();
  return page.locator(SEL.cellEditor(cell)).evaluate((ed) => {
    const top = (el) => el.getBoundingClientRect().top;
    const lines = Array.from(ed.querySelectorAll('.view-lines .view-line')).sort((a, b) => top(a) - top(b));
    return lines
      .map((l) => {
        const injected = (n) => {
          for (let p = n.parentElement; p && p !== l; p = p.parentElement) {
            if (/dyn-rule|ced-|inlay/.test(p.className)) return true;
          }
          return false;
        };
        const w = document.createTreeWalker(l, NodeFilter.SHOW_TEXT);
        let t = '';
        for (let n = w.nextNode(); n; n = w.nextNode()) if (!injected(n)) t += n.textContent;
        return t.replace(/\u00a0/g, ' ');
      })
      .join('\n');
  });
}

/**
 * Focus cell `cell` in edit mode. With opts.word (and opts.line, default: first line containing it) the click lands in
 * the middle of that word, which also puts the caret there.
 */
async function focusCell(page, cell, opts = {}) {
  await page.locator(SEL.cellEditor(cell)).scrollIntoViewIfNeeded();
  if (!opts.word) {
    await focusEditor(page, { cell });
    return;
  }
  let line = opts.line;
  if (line == null) {
    const lines = (await cellText(page, cell)).split('\n');
    line = lines.findIndex((l) => l.includes(opts.word)) + 1;
    if (!line) throw new Error(`"${opts.word}" not in cell ${cell}`);
  }
  // Click the word's centre, then check that the cell is focused and its caret lies inside the word's box. Measured
  // afresh each poll: code lenses / view zones arriving late shift the lines; if the caret missed, click again.
  let lastClick = 0;
  await waitFor(
    async () => {
      const b = await wordBox(page, line, opts.word, { cell, occurrence: opts.occurrence });
      const focused = await page.locator(`${SEL.cellEditor(cell)}.focused`).count();
      const c = focused
        ? await page
            .locator(`${SEL.cellEditor(cell)} .cursors-layer .cursor`)
            .first()
            .boundingBox()
        : null;
      if (c && c.x > b.x && c.x < b.x + b.width && Math.abs(c.y + c.height / 2 - (b.y + b.height / 2)) < b.height / 2) return true;
      if (Date.now() - lastClick > 1000) {
        if (lastClick) debug(`focusCell: caret not in "${opts.word}", clicking again`);
        await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
        lastClick = Date.now();
      }
      return false;
    },
    TIMEOUTS.step,
    `caret inside "${opts.word}" in cell ${cell}`,
  );
}

const hoverWordInCell = (page, cell, line, word, opts = {}) => hoverWord(page, line, word, { ...opts, cell });
const inlayHintsInCell = (page, cell, opts = {}) => inlayHints(page, { ...opts, cell });
const waitForInlayHintInCell = (page, cell, match, opts = {}) => waitForInlayHint(page, match, { ...opts, cell });
const gotoLineInCell = (page, cell, line, col = 1) => gotoLine(page, line, col, { cell });

/** Cell sources of an .ipynb on disk, as strings. */
function readNotebookCells(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8')).cells.map((c) => [].concat(c.source).join(''));
}

// ---------------------------------------------------------------------------------------------------------------
// a tiny sequential test runner (what selftest.js uses)
// ---------------------------------------------------------------------------------------------------------------
/**
 * const r = createRunner();  r.editor = ed;   // (set once startEditor() returned: enables fail screenshots)
 * await r.test('name', async () => { ... }, { critical: true });   // critical failure -> later tests are skipped
 * const { passed, failed } = r.finish();   // prints "N passed, N failed" (last line); exit code is up to the caller
 * Failure screenshots: <editor.runDir>/fail-<name>.png
 */
function createRunner({ log = (...a) => console.log(...a) } = {}) {
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1)}s]`;
  const r = {
    editor: null,
    results: [],
    bail: false,
    async test(name, fn, { critical = false } = {}) {
      // E2E_ONLY=<regex>: only the tests whose name matches, and the critical ones they stand on (not counted)
      if (process.env.E2E_ONLY && !critical && !new RegExp(process.env.E2E_ONLY).test(name)) return;
      if (r.bail) {
        r.results.push({ name, ok: false, err: 'skipped: an earlier critical test failed' });
        log(stamp(), `SKIP ${name}`);
        return;
      }
      const s = Date.now();
      try {
        await fn();
        r.results.push({ name, ok: true, ms: Date.now() - s });
        log(stamp(), `ok   ${name} (${Date.now() - s} ms)`);
      } catch (e) {
        r.results.push({ name, ok: false, ms: Date.now() - s, err: e.message });
        log(stamp(), `FAIL ${name}: ${e.message}`);
        if (r.editor) await screenshot(r.editor.page, path.join(r.editor.runDir, `fail-${name.replace(/\W+/g, '_').slice(0, 60)}.png`));
        if (critical) r.bail = true;
      }
    },
    get failed() {
      return r.results.filter((x) => !x.ok).length;
    },
    finish() {
      const failed = r.failed,
        passed = r.results.length - failed;
      log(stamp(), `total ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      // the failures again, right above the summary: a CI log shown from its end has them
      for (const x of r.results.filter((y) => !y.ok)) console.log(`FAILED ${x.name}: ${x.err}`);
      console.log(`${passed} passed, ${failed} failed`);
      return { passed, failed, results: r.results };
    },
  };
  return r;
}

module.exports = {
  createRunner,
  // constants
  ROOT,
  CODE_SERVER,
  CHROMIUM,
  TIMEOUTS,
  DEFAULT_SETTINGS,
  SEL,
  // utilities
  sleep,
  waitFor,
  packageVsix,
  // lifecycle
  startEditor,
  // logs
  waitForActivation,
  extHostLog,
  extHostLogFiles,
  extHostErrors,
  readOutputChannel,
  // workbench
  openFile,
  runCommand,
  save,
  waitForFile,
  screenshot,
  // editor
  focusEditor,
  gotoLine,
  gotoWord,
  wordBox,
  hoverWord,
  hoverAtCursor,
  waitForHover,
  dismissHover,
  inlayHints,
  waitForInlayHint,
  codeLenses,
  clickCodeLens,
  showCodeActions,
  openCodeActions,
  listCodeActions,
  runCodeAction,
  closeCodeActions,
  // notebooks
  openNotebook,
  cellText,
  focusCell,
  hoverWordInCell,
  inlayHintsInCell,
  waitForInlayHintInCell,
  gotoLineInCell,
  readNotebookCells,
};
