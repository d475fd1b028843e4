/** The oracle's own probe is checked against PyTorch and DESIGN.md's formulas by its Python self-test. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers';

void test('torch_probe.py self-test', () => {
  const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'test', 'oracle', 'test_torch_probe.py')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
});
