// Figures, their summaries and the two outputs: a table on stdout and bench-results.json.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface Figure {
  suite: string;
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  /** The figure's baseline, measured in the same run, when it has one. */
  baseline?: { name: string; median: number };
  /** ours / baseline, oriented so that higher is better for us. */
  ratio?: number;
  /** What docs and issues ask of this figure, in words. */
  target?: string;
  settings: Record<string, unknown>;
}

export function summarize(samples: number[]): { median: number; min: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** Percentile of a sample list (nearest rank). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function figure(
  suite: string,
  name: string,
  unit: string,
  samples: number[],
  settings: Record<string, unknown>,
  extra: {
    baseline?: { name: string; samples: number[] };
    lowerIsBetter?: boolean;
    target?: string;
  } = {},
): Figure {
  const f: Figure = { suite, name, unit, ...summarize(samples), settings };
  if (extra.target !== undefined) f.target = extra.target;
  if (extra.baseline !== undefined) {
    const base = summarize(extra.baseline.samples).median;
    f.baseline = { name: extra.baseline.name, median: base };
    f.ratio = extra.lowerIsBetter ? base / f.median : f.median / base;
  }
  return f;
}

function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  if (n >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

export function printTable(figures: Figure[]): void {
  const rows = figures.map((f) => [
    f.suite,
    f.name,
    `${fmt(f.median)} ${f.unit}`,
    `${fmt(f.min)}..${fmt(f.max)}`,
    f.baseline ? `${fmt(f.baseline.median)} (${f.baseline.name})` : '',
    f.ratio !== undefined ? `${f.ratio.toFixed(2)}x` : '',
    f.target ?? '',
  ]);
  const header = [
    'suite',
    'figure',
    'median',
    'min..max',
    'baseline (same run)',
    'ratio',
    'target',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

function commit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

export function machine(): Record<string, unknown> {
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    kernel: os.release(),
    node: process.version,
    commit: commit(),
  };
}

export function writeResults(file: string, mode: string, figures: Figure[]): void {
  const body = { date: new Date().toISOString(), mode, machine: machine(), figures };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
}
