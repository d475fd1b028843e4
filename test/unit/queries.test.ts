import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initParsing, query, queryFiles, resourceRoot, type LanguageId } from '../../src/analysis/parsing';

const GRAMMARS: Record<string, LanguageId[]> = { python: ['python'], javascript: ['javascript', 'typescript', 'tsx'] };

void test('every query compiles for every grammar of its family', async () => {
  await initParsing();
  const files = queryFiles();
  // queries/python: calls, imports, pragmas, references; queries/javascript: calls, imports, names, pragmas
  assert.equal(files.length, 10, JSON.stringify(files));
  for (const { dir, name } of files) {
    for (const id of GRAMMARS[dir] ?? []) assert.doesNotThrow(() => query(id, name), `${dir}/${name}.scm for ${id}`);
  }
});

void test('every query pattern carries an example comment above it', () => {
  for (const { dir, name } of queryFiles()) {
    const lines = fs.readFileSync(path.join(resourceRoot(), 'queries', dir, `${name}.scm`), 'utf8').split('\n');
    let patterns = 0;
    lines.forEach((line, i) => {
      if (/^\(/.test(line)) {
        patterns++;
        assert.match(lines[i - 1] ?? '', /^;/, `${dir}/${name}.scm:${i + 1} has no example above it`);
      }
    });
    assert.ok(patterns > 0, `${dir}/${name}.scm: no pattern found to check`);
  }
});
