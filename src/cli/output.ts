/** What commands print on stdout: aligned tables and key/value blocks for people, JSON for scripts. */

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Cuts a cell to one line of at most `max` characters, so one long value cannot break the table. */
export function cell(value: unknown, max = 60): string {
  const text = value === undefined || value === null ? '' : String(value).replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function formatTable(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((text, i) => (i === cells.length - 1 ? text : text.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function printTable(headers: string[], rows: string[][]): void {
  for (const text of formatTable(headers, rows)) printLine(text);
}

/** `label:  value` lines with the labels aligned; empty values are left out. */
export function printFields(fields: [string, string | undefined][]): void {
  const shown = fields.filter((field): field is [string, string] => field[1] !== undefined && field[1] !== '');
  const width = Math.max(...shown.map(([label]) => label.length)) + 1;
  for (const [label, value] of shown) printLine(`${`${label}:`.padEnd(width)}  ${value}`);
}

/**
 * A spinner on stderr while a call waits on an upstream, only when stderr is a terminal:
 * scripts and pipes see nothing. Returns the function that clears it.
 */
export function startProgress(text: string): () => void {
  if (!process.stderr.isTTY) return () => {};
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  const draw = () => process.stderr.write(`\r${frames[frame++ % frames.length]} ${text}`);
  draw();
  const timer = setInterval(draw, 80);
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  };
}

/** Runs `work` with a spinner that is cleared whatever happens. */
export async function withProgress<T>(text: string, work: () => Promise<T>): Promise<T> {
  const stop = startProgress(text);
  try {
    return await work();
  } finally {
    stop();
  }
}
