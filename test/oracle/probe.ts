/**
 * The client side of test/oracle/torch_probe.py: what it reports for a model built in real PyTorch
 * (Debian's python3-torch, /usr/bin/python3), and a batch call that runs many models in one process
 * (importing torch costs more than all the fixture models together).
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { Padding } from '../../src/analysis/model';
import { ROOT } from '../helpers';

const PYTHON = '/usr/bin/python3';
const PROBE = path.join(ROOT, 'test', 'oracle', 'torch_probe.py');

/** One conv module as PyTorch built and ran it. */
export interface ProbeConv {
  /** where its constructor call starts in the model file (1-based; columns in code points) */
  line: number | null;
  column: number | null;
  module: string;
  op: string;
  inChannels: number;
  outChannels: number;
  kernelSize: number[];
  stride: number[];
  padding: Padding;
  dilation: number[];
  groups: number;
  bias: boolean;
  params: number;
  calls: number;
  inputShapes: number[][];
  outputShapes: number[][];
  /** per sample, summed over calls; bias adds not counted */
  macs: number;
}

export interface ProbeResult {
  error?: string;
  outputShape: unknown;
  params: number;
  convs: ProbeConv[];
  /** every nn.Sequential with its parameters (all of them, nested ones included) */
  sequentials: { line: number | null; column: number | null; module: string; params: number }[];
}

export interface ProbeJob {
  model: string;
  build: string;
  input: number[];
  /** run the forward pass on the meta device: shapes and MACs without arithmetic (large inputs) */
  meta?: boolean;
}

export function probeBatch(jobs: ProbeJob[]): ProbeResult[] {
  const out = execFileSync(PYTHON, [PROBE, '--batch'], { input: JSON.stringify(jobs), maxBuffer: 256 << 20, encoding: 'utf8' });
  return JSON.parse(out) as ProbeResult[];
}
