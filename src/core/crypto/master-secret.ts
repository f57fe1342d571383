import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * The secrets the keyring is built from, current first. From the environment when given;
 * otherwise (embedded default only) from `DATA_DIR/secret.key`, generated on first start.
 */
export function resolveMasterSecrets(options: {
  current?: string;
  previous: readonly string[];
  dataDir: string;
}): string[] {
  const current = options.current ?? readOrCreateSecretFile(options.dataDir);
  return [current, ...options.previous.filter((s) => s !== current)];
}

function readOrCreateSecretFile(dataDir: string): string {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'secret.key');
  try {
    const fd = fs.openSync(file, 'wx', 0o600);
    const secret = randomBytes(48).toString('base64url');
    fs.writeSync(fd, `${secret}\n`);
    fs.closeSync(fd);
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${file} does not hold a valid secret (at least 32 characters expected)`);
  return secret;
}
