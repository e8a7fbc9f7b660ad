/**
 * The real Dovecot + Postfix of scripts/mailstack.sh for `npm run bench` (which runs from
 * dist/, so it cannot import test/helpers): a temporary folder, a free port offset, start and
 * stop, the bot's login. Mail to any address is delivered (catch-all), so the bot's
 * notifications to the corpus's participants are accepted by Postfix.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/mailstack.sh', import.meta.url));

export const BOT_LOGIN = { user: 'bot@cvd.example', pass: 'botpass' };

export interface BenchStack {
  dir: string;
  ports: { imap: number; imaps: number; smtp: number };
  /** The stack's self-signed certificate (PEM). */
  ca: string;
  /** A logged-in plain loopback IMAP client of the bot. */
  imap(): Promise<ImapFlow>;
  destroy(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function bash(args: string[]): Promise<void> {
  try {
    await run('bash', [SCRIPT, ...args], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`mailstack.sh ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

/** Starts the stack, or throws with the reason (the bench then marks its figures "not measured"). */
export async function startBenchStack(): Promise<BenchStack> {
  if (!existsSync('/usr/sbin/dovecot') || !existsSync('/usr/sbin/postfix')) {
    if (process.getuid?.() !== 0) {
      throw new Error('Dovecot/Postfix are not installed: run `sudo bash scripts/mailstack.sh install`');
    }
    await bash(['install']);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vultron-bench-mailstack-'));
  chmodSync(dir, 0o755);
  const first = Math.floor(Math.random() * 62);
  let lastError: unknown = 'no free port offset';
  for (let i = 0; i < 62; i++) {
    const offset = (first + i) % 62;
    const ports = { imap: 1143 + offset, imaps: 1993 + offset, smtp: 2525 + offset };
    const free = await Promise.all([...Object.values(ports), 2587 + offset].map(portFree));
    if (free.includes(false)) continue;
    try {
      await bash(['start', dir, String(offset)]);
    } catch (err) {
      lastError = err;
      await bash(['stop', dir]).catch(() => undefined);
      if (/not listening|Failed to start listeners|address already in use|did not start/i.test(String(err))) {
        continue;
      }
      break;
    }
    const ca = readFileSync(join(dir, 'tls', 'cert.pem'), 'utf8');
    return {
      dir,
      ports,
      ca,
      async imap() {
        const client = new ImapFlow({
          host: '127.0.0.1',
          port: ports.imap,
          secure: false,
          doSTARTTLS: false,
          auth: BOT_LOGIN,
          logger: false,
        });
        client.on('error', () => undefined);
        await client.connect();
        return client;
      },
      async destroy() {
        await bash(['stop', dir]).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`the mail stack could not start: ${String(lastError)}`);
}
