import * as fs from 'node:fs';
import { positionOf, TestClient } from './protocol/lsp';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NORMAL_TEXT = fs.readFileSync('examples/pytorch/encoder.py', 'utf8');
void (async () => {
  const name = process.argv[2];
  const windowMs = Number(process.argv[3] ?? 20000);
  const c = await TestClient.start({});
  await c.open('file:///n/encoder.py', NORMAL_TEXT);
  await c.codeLens('file:///n/encoder.py');
  const text = name === 'none' ? 'import torch.nn as nn\nc = nn.Conv2d(3, 8, 3)\n' : fs.readFileSync(`test/hostile/server/${name}`, 'utf8');
  await c.open('file:///h/' + name, text);
  const conv = positionOf(text, 'nn.Conv2d');
  const t0 = performance.now();
  let hostileDone = -1;
  void c.hover('file:///h/' + name, conv.line, conv.character + 4).then(() => (hostileDone = performance.now() - t0), () => (hostileDone = performance.now() - t0));
  await sleep(50);
  const lat: number[] = [];
  const at = positionOf(NORMAL_TEXT, 'nn.Conv2d', 'self.conv1');
  while (performance.now() - t0 < windowMs) {
    const t = performance.now();
    const r = await Promise.race([c.hover('file:///n/encoder.py', at.line, at.character + 4).then(() => true), sleep(windowMs - (t - t0)).then(() => false)]);
    lat.push(performance.now() - t);
    if (!r) { console.log('  a hover of the normal document got no answer within the window'); break; }
    await sleep(15);
  }
  lat.sort((a, b) => a - b);
  const p = (q: number) => lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)].toFixed(1);
  console.log(`${name}: ${lat.length} normal hovers, p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${lat[lat.length - 1].toFixed(1)} ms; hostile hover answered after ${hostileDone < 0 ? 'no answer' : hostileDone.toFixed(0) + ' ms'}`);
  await c.stop();
  process.exit(0);
})();
