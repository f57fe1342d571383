import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../test/helpers/processes.ts';

/** One line of the benchmark table. Numbers only: the reader judges. */
export type Row = { section: string; measure: string; value: number; unit: string; detail?: string };

export function printRows(rows: Row[]): void {
  const width = Math.max(40, ...rows.map((r) => r.measure.length));
  process.stdout.write(`\n${'section'.padEnd(16)} ${'measure'.padEnd(width)} ${'value'.padStart(9)} unit    detail\n`);
  for (const row of rows) {
    process.stdout.write(
      `${row.section.padEnd(16)} ${row.measure.padEnd(width)} ${String(row.value).padStart(9)} ${row.unit.padEnd(7)} ${row.detail ?? ''}\n`,
    );
  }
}

export function writeResults(rows: Row[], settings: Record<string, unknown>): string {
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, memoryGiB: Math.round(os.totalmem() / 2 ** 30) };
  const dir = path.join(projectRoot, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ machine, settings, rows }, null, 2)}\n`);
  return path.relative(projectRoot, file);
}

/** The q-quantile (0..1) of already sorted numbers. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
