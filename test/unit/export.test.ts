import * as assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { analyzeText } from '../../src/analysis/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing } from '../../src/analysis/parsing';
import { layerJson, totals } from '../../src/analysis/report';
import { formatCsv } from '../../src/analysis/reportFormats';
import { LineIndex } from '../../src/refactor/edits';

before(() => initParsing());

void test('CSV export: one row per layer, plain numbers, quoted text', () => {
  const text = 'import torch.nn as nn\na = nn.Conv2d(64, 128, 3, padding=1)\nb = nn.Conv2d(128, 128, 1)\n';
  const lines = new LineIndex(text);
  const layers = analyzeText(text, 'python', defaultOptions({ inputSizes: { 2: [32, 32] } })).layers.map((l) =>
    layerJson(l, (o) => lines.position(o)),
  );
  const csv = formatCsv([{ path: 'dir, with comma/m.py', error: null, layers, totals: totals(layers) }]).split('\r\n');
  assert.equal(
    csv[0],
    'path,cell,line,column,framework,op,in_channels,out_channels,kernel_size,stride,padding,dilation,groups,bias,convertible,reason,params_before,params_after,macs_before,macs_after,savings_params,savings_macs,assumptions',
  );
  assert.equal(
    csv[1],
    '"dir, with comma/m.py",,2,5,pytorch,Conv2d,64,128,3x3,1x1,1x1,1x1,1,true,true,,73856,8896,75497472,8978432,0.8795,0.8811,input 32x32',
  );
  assert.equal(
    csv[2],
    '"dir, with comma/m.py",,3,5,pytorch,Conv2d,128,128,1x1,1x1,0x0,1x1,1,true,false,1x1 kernel: already pointwise,16512,,16777216,,,,input 32x32',
  );
  assert.equal(csv.length, 4);
});
