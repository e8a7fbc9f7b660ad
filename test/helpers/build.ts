/**
 * Tests that run the real `vultron-mail` command (bin/ → dist/) first bring dist/ up to date
 * with src/ (npm ci builds it; an edited source tree may be newer).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './mailstack.js';

const run = promisify(execFile);

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

let building: Promise<void> | null = null;

export function ensureBuilt(): Promise<void> {
  building ??= (async () => {
    const main = join(ROOT, 'dist', 'cli', 'main.js');
    if (existsSync(main) && statSync(main).mtimeMs >= newest(join(ROOT, 'src'))) return;
    await run(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        timeout: 240_000,
      },
    );
  })();
  return building;
}

export const BIN = join(ROOT, 'bin', 'vultron-mail.js');
