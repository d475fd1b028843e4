/**
 * Hostile but fair input for the command (issue 12): every file of test/hostile (and the large,
 * binary and platform-specific ones generate.ts writes at test time) is given to `report`, `check`
 * and `apply` of the bundled command in a child process with a bound on time and memory. Each must
 * end, with the documented exit code and a message that names the file and says in words what
 * happened (never a JavaScript error); what `apply` writes must parse, and the rewritten models must
 * build and run in real PyTorch (Debian's python3-torch) as they did before.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { initParsing } from '../../src/analysis/parsing';
import { defaultOptions } from '../../src/analysis/options';
import { processFile, writeChecked, WriteRefused } from '../../src/cli/process';
import { generateHostile } from '../hostile/generate';
import { bundledCli, cli, pythonParses, ROOT, tempDir } from '../helpers';

const HOSTILE = path.join(ROOT, 'test', 'hostile');
const PYTHON = '/usr/bin/python3';
/** Text only our own code would print if an internal JavaScript error leaked into a message. */
const JS_ERROR =
  /\b(TypeError|ReferenceError|RangeError|is not a function|Cannot read properties|is not iterable|Maximum call stack|internal error)\b|\n\s+at \S+ \(.*:\d+:\d+\)/;
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

let dist = '';
/** the persistent result cache of these runs, away from the user's */
let cacheDir = '';
before(async () => {
  await initParsing();
  dist = bundledCli();
  cacheDir = tempDir('sepconv-cache-');
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The bundled command in a child process: at most 60 s and a 512 MB heap (a hang or a runaway
 * allocation fails the test instead of stalling it); `asNobody` runs it as user 65534 (root only).
 */
function sepconv(args: string[], opts: { asNobody?: boolean } = {}): Run {
  const node = [process.execPath, '--max-old-space-size=512', path.join(dist, 'cli.js'), ...args];
  const [cmd, ...argv] = opts.asNobody ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...node] : node;
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 1 << 26,
    env: { ...process.env, SEPCONV_THREADS: '1', SEPCONV_CACHE_DIR: cacheDir },
  });
  assert.equal(r.error, undefined, `sepconv ${args.join(' ')}: ${String(r.error)}`);
  assert.equal(r.signal, null, `sepconv ${args.join(' ')} was killed by ${r.signal}`);
  assert.doesNotMatch(r.stdout + r.stderr, JS_ERROR, `sepconv ${args.join(' ')} leaked an internal error`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function inProcess(...argv: string[]): Promise<Run> {
  const r = await cli(...argv);
  assert.doesNotMatch(r.stdout + r.stderr, JS_ERROR, `sepconv ${argv.join(' ')} leaked an internal error`);
  return r;
}

/** A fresh copy of the committed corpus plus the generated inputs. */
function corpus(): string {
  const dir = tempDir('sepconv-hostile-');
  for (const f of fs.readdirSync(HOSTILE))
    if (/\.(py|ipynb)$/.test(f) && f !== 'build_torch.py') fs.copyFileSync(path.join(HOSTILE, f), path.join(dir, f));
  generateHostile(dir);
  return dir;
}

/** What each input makes each command do: exit code and a line it must print (stdout or stderr). */
const EXPECT: Record<string, { report: [number, RegExp?]; check: [number, RegExp?]; apply: [number, RegExp?] }> = {
  // the init through the local is rewritten to initialise both new convs (issue 10)
  'alias_local.py': { report: [0, /10:16 +Conv2d .*convert \(−79\.7% params\)/], check: [1], apply: [0, /converted 2 layer/] },
  // the loop's init alone would be rewritten for both convs; the comprehension's read cannot be
  'alias_loop.py': { report: [0, /not converted: line 13 reads `m\.weight`/], check: [1], apply: [0, /converted 1 layer/] },
  'alias_assign.py': { report: [0, /not converted: line 16 reads `w\.weight`/], check: [1], apply: [0, /converted 1 layer/] },
  'alias_param.py': {
    report: [0, /not converted: line 8 reads `m\.weight`, which the rewrite cannot follow \(`m` is a parameter of `init_conv\(\)`/],
    check: [1],
    apply: [0, /converted 1 layer/],
  },
  'alias_rewrite.py': { report: [0], check: [1], apply: [0, /converted 2 layer/] },
  'reparametrized.py': {
    report: [0, /not converted: line 13 reads `weight_norm\(self\.conv…\)`/],
    check: [1],
    apply: [0, /converted 1 layer/],
  },
  'fstring.py': { report: [0], check: [1], apply: [0, /converted 2 layer/] },
  'comments.py': { report: [0], check: [1], apply: [0, /converted 1 layer/] },
  'crlf_bom_tabs.py': { report: [0], check: [1], apply: [0, /converted 1 layer/] },
  'syntax_error.py': {
    report: [0, /syntax_error\.py {2}\(syntax error at line 7, column 49/],
    check: [1, /syntax_error\.py: syntax error at line 7/],
    apply: [1, /syntax_error\.py: not rewritten: syntax error at line 7/],
  },
  'notebook_syntax.ipynb': {
    report: [0, /syntax error at cell 3, line 2, column 7/],
    check: [1, /syntax error at cell 3, line 2, column 7/],
    apply: [1, /notebook_syntax\.ipynb: not rewritten: syntax error at cell 3, line 2, column 7/],
  },
  'cyclic_inheritance.py': { report: [0], check: [1], apply: [0] },
  'empty.py': { report: [0], check: [0, /^no convertible convolutions$/m], apply: [0] },
  'deep_parens.py': { report: [0], check: [1], apply: [0] },
  // the 500 convs `x` is bound to are blocked by `x.weight`, the other 500 remain
  'many_aliases.py': {
    report: [0, /not converted: line 11007 reads `x\.weight`, which the rewrite cannot follow/],
    check: [1, /^500 convertible convolution\(s\) remain$/m],
    apply: [0, /converted 500 layer/],
  },
  'for_tokens.py': {
    report: [0, /for_tokens\.py {2}\(syntax error at line 4/],
    check: [1],
    apply: [1, /for_tokens\.py: not rewritten: syntax error at line 4/],
  },
  'many_models.py': { report: [0], check: [1], apply: [0, /converted 120 layer/] },
  'binary.py': {
    report: [2, /binary\.py: skipped: binary file/],
    check: [2, /binary\.py: skipped: binary file/],
    apply: [2, /binary\.py: not rewritten: skipped: binary file/],
  },
  'large.py': {
    report: [2, /large\.py: skipped: 4\.5 MB is larger than the 4 MB limit/],
    check: [2, /no convertible convolutions in the files analysed; 1 file\(s\) not analysed/],
    apply: [2, /large\.py: not rewritten: skipped: 4\.5 MB/],
  },
  'notebook_number_source.ipynb': {
    report: [2, /the source of cell 1 is not text/],
    check: [2, /notebook_number_source\.ipynb: not a valid notebook \(the source of cell 1 is not text\)/],
    apply: [2, /not rewritten: not a valid notebook \(the source of cell 1 is not text\)/],
  },
  'notebook_not_json.ipynb': {
    report: [2, /not a valid notebook \(the file is not JSON\)/],
    check: [2, /the file is not JSON/],
    apply: [2, /the file is not JSON/],
  },
};

void test('every hostile input ends with its documented exit code and a message in words', async () => {
  const dir = corpus();
  const inputs = fs
    .readdirSync(dir)
    .filter((f) => /\.(py|ipynb)$/.test(f))
    .sort();
  assert.deepEqual(inputs, Object.keys(EXPECT).sort(), 'every input has an expectation');
  for (const name of inputs) {
    const file = path.join(dir, name);
    const original = fs.readFileSync(file);
    for (const command of ['report', 'check', 'apply'] as const) {
      const [code, line] = EXPECT[name][command];
      // apply (which also analyses) in a child process bounded in time and memory; report and check in this one
      const r = command === 'apply' ? sepconv([command, file]) : await inProcess(command, file);
      assert.equal(r.code, code, `${command} ${name}: exit ${r.code}\n${r.stderr}${r.stdout.slice(0, 2000)}`);
      if (line) assert.match(r.stdout + '\n' + r.stderr, line, `${command} ${name}`);
      // summary lines stay short, whatever the file holds
      for (const l of (r.stdout + '\n' + r.stderr).split('\n'))
        if (/^(total|no convertible|\d+ convertible)/.test(l))
          assert.ok(l.length <= 400, `${command} ${name}: a ${l.length}-character summary line`);
      const after = fs.readFileSync(file);
      if (command !== 'apply' || code !== 0) assert.deepEqual(after, original, `${command} ${name} changed the file`);
      else if (name.endsWith('.py')) assert.ok(pythonParses(after.toString('utf8')), `apply ${name} wrote a file that does not parse`);
    }
  }
});

void test('apply keeps byte-order mark, CRLF and tabs, and rewrites a conv in an f-string on one line', () => {
  const dir = corpus();
  assert.equal(sepconv(['apply', path.join(dir, 'crlf_bom_tabs.py'), path.join(dir, 'fstring.py'), path.join(dir, 'comments.py')]).code, 0);
  const crlf = fs.readFileSync(path.join(dir, 'crlf_bom_tabs.py'), 'utf8');
  assert.ok(crlf.startsWith('\ufeff'), 'the byte-order mark stays');
  assert.doesNotMatch(crlf, /[^\r]\n/, 'every line ends in CRLF');
  assert.match(
    crlf,
    /\r\n\t\tself\.conv = nn\.Sequential\(\r\n\t\t\tnn\.Conv2d\(3, 3, 3, padding=1, groups=3, bias=False\),\r\n\t\t\tnn\.Conv2d\(3, größe, 1\),\r\n\t\t\)  # 卷积\r\n/,
  );
  const fstring = fs.readFileSync(path.join(dir, 'fstring.py'), 'utf8');
  assert.match(
    fstring,
    /^ {8}self\.label = f"built \{nn\.Sequential\(nn\.Conv2d\(64, 64, 3, padding=1, dilation=1, groups=64, bias=False, padding_mode='zeros'\), nn\.Conv2d\(64, 128, 1, bias=False\)\)\} for a long description of the model"$/m,
  );
  const compiled = spawnSync(PYTHON, ['-m', 'py_compile', path.join(dir, 'fstring.py')], { encoding: 'utf8' });
  assert.equal(
    compiled.status,
    0,
    `Python ${spawnSync(PYTHON, ['--version'], { encoding: 'utf8' }).stdout.trim()} cannot compile the rewrite: ${compiled.stderr}`,
  );
  const comments = fs.readFileSync(path.join(dir, 'comments.py'), 'utf8');
  assert.match(
    comments,
    /nn\.Sequential\(\n {12}# plain conv\n {12}nn\.Conv2d\(\n {16}16, {2}# channels from the stem\n {16}16,\n {16}kernel_size=3,\n {16}padding=1, {2}# keeps the size\n/,
  );
  assert.match(comments, /\n {12}nn\.Conv2d\(\n {16}16,\n {16}# doubled here\n {16}32,\n {16}kernel_size=1,\n {12}\),\n/);
});

void test('the rewritten hostile models build and run in PyTorch as the originals did', () => {
  const models = [
    'alias_local.py',
    'alias_loop.py',
    'alias_assign.py',
    'alias_param.py',
    'alias_rewrite.py',
    'reparametrized.py',
    'fstring.py',
    'comments.py',
    'crlf_bom_tabs.py',
  ];
  const dir = corpus();
  const build = (files: string[]) => {
    const r = spawnSync(PYTHON, [path.join(HOSTILE, 'build_torch.py'), ...files], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; shape?: number[]; params?: number; error?: string });
  };
  const files = models.map((m) => path.join(dir, m));
  const originals = files.map((f) => fs.readFileSync(f, 'utf8'));
  const before = build(files);
  for (const [i, b] of before.entries()) assert.ok(b.ok, `${models[i]} does not build before the rewrite: ${b.error}`);
  assert.equal(sepconv(['apply', ...files]).code, 0);
  files.forEach((f, i) => assert.notEqual(fs.readFileSync(f, 'utf8'), originals[i], `${models[i]} was rewritten`));
  const after = build(files);
  for (const [i, a] of after.entries()) {
    assert.ok(a.ok, `${models[i]} no longer builds after the rewrite: ${a.error}`);
    assert.deepEqual(a.shape, before[i].shape, `${models[i]}: output shape`);
    assert.ok(a.params! < before[i].params!, `${models[i]}: ${a.params} parameters after, ${before[i].params} before`);
  }
});

void test('unreadable files, symbolic link loops and FIFOs are reported as such by every command', () => {
  const dir = corpus();
  fs.chmodSync(dir, 0o755);
  const locked = path.join(dir, 'locked.py');
  fs.copyFileSync(path.join(HOSTILE, 'alias_rewrite.py'), locked);
  fs.chmodSync(locked, 0o000);
  fs.symlinkSync('loop_b.py', path.join(dir, 'loop_a.py'));
  fs.symlinkSync('loop_a.py', path.join(dir, 'loop_b.py'));
  const fifo = path.join(dir, 'pipe.py');
  execFileSync('mkfifo', [fifo]);
  // root reads any file: the unreadable one is read as another user
  const other = { asNobody: isRoot };
  for (const command of ['report', 'check', 'apply']) {
    const r = sepconv([command, locked], other);
    assert.equal(r.code, 2, `${command} locked.py: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /locked\.py: (not rewritten: )?cannot read: permission denied/);
    const loop = sepconv([command, path.join(dir, 'loop_a.py')]);
    assert.equal(loop.code, 2);
    assert.match(loop.stderr, /loop_a\.py: a symbolic link loop/);
    const pipe = sepconv([command, fifo]);
    assert.equal(pipe.code, 2);
    assert.match(pipe.stderr, /pipe\.py: not a regular file or folder/);
  }
  // one unreadable file among good ones: the others are reported, the run exits 2
  const mixed = sepconv(['check', locked, path.join(dir, 'alias_local.py')], other);
  assert.equal(mixed.code, 2);
  assert.match(mixed.stdout, /alias_local\.py:13:21: Conv2d can be depthwise separable/);
  assert.match(mixed.stdout, /^2 convertible convolution\(s\) remain; 1 file\(s\) not analysed$/m);
});

void test('apply writes through symbolic links, keeps mode, owner and hard links, and leaves read-only files', () => {
  const dir = corpus();
  const src = fs.readFileSync(path.join(HOSTILE, 'alias_local.py'), 'utf8');
  const target = path.join(dir, 'target.py');
  fs.writeFileSync(target, src);
  fs.symlinkSync('target.py', path.join(dir, 'link.py'));
  assert.equal(sepconv(['apply', path.join(dir, 'link.py')]).code, 0);
  assert.ok(fs.lstatSync(path.join(dir, 'link.py')).isSymbolicLink(), 'the link stays a link');
  assert.match(fs.readFileSync(target, 'utf8'), /nn\.Sequential/, 'its target is rewritten');

  const modal = path.join(dir, 'modal.py');
  fs.writeFileSync(modal, src);
  fs.chmodSync(modal, 0o751);
  assert.equal(sepconv(['apply', modal]).code, 0);
  assert.equal(fs.statSync(modal).mode & 0o7777, 0o751);

  const a = path.join(dir, 'hard_a.py');
  const b = path.join(dir, 'hard_b.py');
  fs.writeFileSync(a, src);
  fs.linkSync(a, b);
  assert.equal(sepconv(['apply', a]).code, 0);
  assert.equal(fs.statSync(a).ino, fs.statSync(b).ino, 'still one file');
  assert.match(fs.readFileSync(b, 'utf8'), /nn\.Sequential/, 'the other name sees the rewrite');

  const ro = path.join(dir, 'readonly.py');
  fs.writeFileSync(ro, src);
  fs.chmodSync(ro, 0o444);
  const refused = sepconv(['apply', ro]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /readonly\.py: not rewritten: the file is read-only \(--force writes it anyway\)/);
  assert.equal(fs.readFileSync(ro, 'utf8'), src);
  const forced = sepconv(['apply', '--force', ro]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(fs.readFileSync(ro, 'utf8'), /nn\.Sequential/);
  assert.equal(fs.statSync(ro).mode & 0o777, 0o444, 'and stays read-only');
});

void test(
  "apply keeps a file's owner, and does not take over a file of another user",
  { skip: !isRoot && 'needs root to create files of two users' },
  () => {
    const dir = corpus();
    const src = fs.readFileSync(path.join(HOSTILE, 'alias_local.py'), 'utf8');
    // root rewrites a file of nobody's: it stays nobody's
    const theirs = path.join(dir, 'theirs.py');
    fs.writeFileSync(theirs, src);
    fs.chownSync(theirs, NOBODY, NOBODY);
    assert.equal(sepconv(['apply', theirs]).code, 0);
    assert.match(fs.readFileSync(theirs, 'utf8'), /nn\.Sequential/);
    assert.deepEqual([fs.statSync(theirs).uid, fs.statSync(theirs).gid], [NOBODY, NOBODY]);
    // nobody, in a folder it may write, meets a root-owned file: read-only to it, and --force cannot give the new file to root
    fs.chmodSync(dir, 0o777);
    const roots = path.join(dir, 'roots.py');
    fs.writeFileSync(roots, src);
    fs.chmodSync(roots, 0o644);
    const r = sepconv(['apply', roots], { asNobody: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /roots\.py: not rewritten: the file is read-only/);
    const forced = sepconv(['apply', '--force', roots], { asNobody: true });
    assert.equal(forced.code, 2);
    assert.match(
      forced.stderr,
      /roots\.py: not rewritten: it belongs to user 0 \(group 0\), and a rewritten file could not be given to them/,
    );
    assert.equal(fs.readFileSync(roots, 'utf8'), src);
    assert.equal(fs.statSync(roots).uid, 0);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.sepconv-')),
      [],
      'no temporary file left',
    );
  },
);

void test('a file changed on disk after it was read is not overwritten', () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.py');
  fs.writeFileSync(file, 'x = 1\n');
  const read = fs.readFileSync(file, 'utf8');
  fs.appendFileSync(file, 'y = 2  # typed while apply ran\n');
  assert.throws(
    () => writeChecked(file, read, 'x = 2\n', false),
    (e: Error) => e instanceof WriteRefused && /changed on disk while it was analysed/.test(e.message),
  );
  assert.equal(fs.readFileSync(file, 'utf8'), 'x = 1\ny = 2  # typed while apply ran\n');
  assert.deepEqual(fs.readdirSync(dir), ['model.py'], 'no temporary file left');
  writeChecked(file, fs.readFileSync(file, 'utf8'), 'x = 3\n', false);
  assert.equal(fs.readFileSync(file, 'utf8'), 'x = 3\n');
});

void test("an internal error in one file is that file's entry, in words", () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.py');
  fs.copyFileSync(path.join(HOSTILE, 'alias_local.py'), file);
  // options the analysis cannot read make it throw inside the file's processing
  const o = processFile(file, {
    command: 'report',
    paths: [file],
    format: 'table',
    minSavings: 0,
    diff: false,
    dryRun: false,
    force: false,
    lineLength: 88,
    analysis: { ...defaultOptions(), inputSizes: undefined as never },
  });
  assert.equal(o.entry.error, 'not analysed: an internal error in sepconv (please report it with this file)');
  assert.equal(o.ioFailed, true);
  assert.doesNotMatch(JSON.stringify(o), /TypeError|Cannot read properties|is not a function|undefined/);
});

void test('runaway model code ends within its budgets, each model unknown with the reason "budget: ..." or its own', () => {
  // test/hostile/server: `while True` appending convs, a comprehension over range(100000), a binary
  // tree of modules 40 deep, mutual recursion in forward, fib(40) in __init__ (also the server's corpus)
  const dir = path.join(HOSTILE, 'server');
  const inputs = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.py'))
    .sort();
  assert.equal(inputs.length, 5);
  for (const name of inputs) {
    const started = Date.now();
    const r = sepconv(['report', '--json', path.join(dir, name)]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const [file] = (
      JSON.parse(r.stdout) as {
        files: { models?: { name: string; params: { before: number | null }; macs: { before: number | null }; reasons: string[] }[] }[];
      }
    ).files;
    const models = file.models ?? [];
    assert.ok(models.length > 0, `${name}: its models are reported, not dropped`);
    for (const m of models) {
      // a number is exact or unknown with a reason; a runaway build or run names its budget
      if (m.params.before === null || m.macs.before === null)
        assert.ok(m.reasons.length > 0, `${name}: ${m.name} is unknown without a reason`);
    }
    const reasons = models.flatMap((m) => m.reasons).join('\n');
    if (/while_true|range_comprehension|binary_tree/.test(name)) assert.match(reasons, /budget: /, `${name}: ${reasons.slice(0, 500)}`);
    console.log(
      `${name}: ${((Date.now() - started) / 1000).toFixed(1)} s, ${models.length} model(s): ${reasons.split('\n')[0]?.slice(0, 160) ?? ''}`,
    );
  }
});
