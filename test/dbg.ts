import * as fs from 'node:fs';
import { defaultOptions } from '../src/analysis/options';
import { initParsing, parse } from '../src/analysis/parsing';
import { inferModels } from '../src/analysis/python/shapes/models';
import { diskSources } from '../src/analysis/files';
void (async () => {
  await initParsing();
  const file = process.argv[2];
  const text = fs.readFileSync(file, 'utf8');
  const tree = parse('python', text);
  const t0 = Date.now();
  const ms = inferModels(
    { path: file, text, root: tree.rootNode },
    diskSources(file),
    defaultOptions(),
    process.argv[3] ? { build: process.argv[3] } : {},
  );
  for (const m of ms) console.log(m.name, m.params, m.macs, JSON.stringify(m.output), m.reasons.slice(0, 4));
  console.log('ms', Date.now() - t0);
})();
