/** Running the CLI in-process (`main(argv, io)`) against a temporary folder made by `init`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with an empty environment (no VULTRON_MAIL_* from the machine running the tests). */
export async function run(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: Buffer } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    env: opts.env ?? {},
    ...(opts.stdin ? { stdin: async () => opts.stdin as Buffer } : {}),
  });
  return { code, stdout, stderr };
}

/** Parses stdout as JSON after checking the run succeeded. */
export function jsonOf<T = unknown>(r: RunResult): T {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface Sandbox {
  dir: string;
  config: string;
  db: string;
  outbox: string;
  /** Runs the CLI with `--config <sandbox config>` first. */
  cli: (...argv: string[]) => Promise<RunResult>;
  cleanup: () => void;
}

/** A temporary folder; `init: true` runs `vultron-mail init --dir` in it. */
export async function sandbox(opts: { init?: boolean } = {}): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'vultron-mail-cli-'));
  const config = join(dir, 'config.json');
  if (opts.init !== false) {
    const r = await run(['init', '--dir', dir]);
    if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  }
  return {
    dir,
    config,
    db: join(dir, 'vultron-mail.sqlite'),
    outbox: join(dir, 'outbox'),
    cli: (...argv) => run(['--config', config, ...argv]),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The coordinator and bot of config.example.json. */
export const COORDINATOR = 'coordinator@example.org';
export const BOT_DOMAIN = 'example.org';
export const NOW = '2026-03-02T10:00:00Z';
