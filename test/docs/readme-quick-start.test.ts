import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, projectRoot } from '../helpers/processes.ts';
import { markedBlocks, type MarkedBlock } from './marked-blocks.ts';
import { ShellSession, type StepResult } from './shell-session.ts';

/**
 * README.md's five-minute path, run as written: its marked blocks, in order, in one bash, in a
 * copy of this checkout (so `npm start` and `./data` are the reader's, not the project's). The
 * only changes: the ports (8080, 3001) become free ones, as other servers may hold those, with
 * PORT set to match in the shell; and the install blocks, which would need the registry, are
 * replaced by links to the packages this checkout already has.
 */
const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
const blocks = markedBlocks(readme);

const installedFromCheckout = new Map<string, (nodeModules: string) => string>([
  // The copy links this checkout's node_modules already.
  ['npm ci', () => 'true'],
  // @smithery/api is a dev dependency here, under an alias.
  [
    'npm init -y > /dev/null && npm install @smithery/api',
    (nodeModules) => `mkdir -p node_modules/@smithery && ln -s ${path.join(nodeModules, 'smithery-api-068')} node_modules/@smithery/api`,
  ],
]);

/** What each step must print; a step must also leave no command failed. */
const expectations: Record<string, (result: StepResult) => void> = {
  'api-key': () => {},
  start: () => {},
  connection: ({ stdout }) => {
    expect(stdout).toContain('{"name":"quick-start"');
    expect(stdout).toContain('"status":{"state":"connected"}');
  },
  'curl-tools': ({ stdout }) => {
    expect(stdout.split('\n')).toEqual(expect.arrayContaining(['echo', 'get-sum']));
    expect(stdout).toContain('{"content":[{"type":"text","text":"Echo: hello"}]}');
  },
  'cli-tools': ({ stdout }) => {
    expect(stdout).toMatch(/^everything +everything +connected +http:\/\/127\.0\.0\.1:\d+\/mcp +userId=alice/m);
    expect(stdout).toMatch(/^echo +message +Echoes back the input string/m);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Echo: hi');
  },
  token: ({ stdout }) => expect(stdout).toBe('{"content":[{"type":"text","text":"Echo: from a token"}]}'),
  'client-env': () => {},
  client: ({ stdout }) => expect(stdout).toBe('everything connected\nEcho: from @smithery/api\n'),
};

let scratch: string;
let shell: ShellSession;
let ports: { switchboard: number; everything: number };

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-quick-start-'));
  const checkout = path.join(scratch, 'switchboard');
  copyCheckout(checkout);
  ports = { switchboard: await freePort(), everything: await freePort() };
  fs.mkdirSync(path.join(scratch, 'steps'));
  shell = new ShellSession(checkout, { PATH: process.env.PATH!, HOME: process.env.HOME!, PORT: String(ports.switchboard) }, path.join(scratch, 'steps'));
});

afterAll(async () => {
  await shell?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe('README.md, "Five minutes"', () => {
  it('marks every step the test knows, in order', () => {
    expect(blocks.filter((b) => b.kind === 'run').map((b) => (b as { name: string }).name)).toEqual(Object.keys(expectations));
  });

  it('goes from a checkout to a tool call, a token and the official client, as written', async () => {
    const nodeModules = fs.realpathSync(path.join(projectRoot, 'node_modules'));
    for (const block of blocks) {
      const result = await shell.run(asRun(block, nodeModules));
      const step = block.kind === 'run' ? block.name : `${block.kind}: ${block.code.split('\n')[0]}`;
      expect({ step, status: result.status, failed: result.stderr.match(/^::command-failed.*$/gm) ?? [] }, result.stderr).toEqual({ step, status: 0, failed: [] });
      if (block.kind === 'run') expectations[block.name]!(result);
    }
  }, 600_000);
});

function asRun(block: MarkedBlock, nodeModules: string): string {
  if (block.kind === 'install') {
    const install = installedFromCheckout.get(block.code);
    if (!install) throw new Error(`README.md installs something the test does not know how to provide offline:\n${block.code}`);
    return install(nodeModules);
  }
  if (block.kind === 'file') return `cat > ${block.path} <<'QUICK_START_FILE'\n${block.code}\nQUICK_START_FILE`;
  return block.code.replace(/\b8080\b/g, String(ports.switchboard)).replace(/\b3001\b/g, String(ports.everything));
}

/** The checkout's files (tracked and new, not ignored) with its node_modules linked, as a clone after `npm ci`. */
function copyCheckout(destination: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: projectRoot, encoding: 'utf8' });
  for (const file of new Set(listed.split('\0').filter(Boolean))) {
    const source = path.join(projectRoot, file);
    if (file === 'node_modules' || !fs.existsSync(source) || fs.lstatSync(source).isSymbolicLink()) continue;
    fs.mkdirSync(path.dirname(path.join(destination, file)), { recursive: true });
    fs.copyFileSync(source, path.join(destination, file));
  }
  fs.symlinkSync(fs.realpathSync(path.join(projectRoot, 'node_modules')), path.join(destination, 'node_modules'));
}
