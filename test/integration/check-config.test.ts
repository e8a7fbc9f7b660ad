/** `check-config --connect` against the real Dovecot and Postfix: both logins are tested for real. */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { USERS, startMailStack } from '../helpers/mailstack.js';
import type { MailStack } from '../helpers/mailstack.js';
import { botConfig } from './setup.js';
import type { BotSandbox } from './setup.js';

let stack: MailStack;
let bot: BotSandbox;

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: {} });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  stack = await startMailStack();
  bot = botConfig(stack);
}, 120_000);

afterAll(async () => {
  bot?.cleanup();
  await stack?.destroy();
});

describe('check-config --connect on the real mail stack', () => {
  it('logs in to IMAPS and SMTP (STARTTLS) with the bot account', async () => {
    const r = await cli('--config', bot.config, 'check-config', '--connect');
    expect(r).toEqual({
      code: 0,
      stdout:
        'ok\n' +
        `smtp: connection ok, no login configured (127.0.0.1:${stack.ports.smtp})\n` +
        `imap: login ok (127.0.0.1:${stack.ports.imaps}), INBOX holds 0 messages\n`,
      stderr: '',
    });
  });

  it('a wrong IMAP password is exit 1 with the server answer', async () => {
    const config = JSON.parse(readFileSync(bot.config, 'utf8')) as { imap: { auth: { pass: string } } };
    config.imap.auth.pass = 'wrong';
    writeFileSync(bot.config, JSON.stringify(config));
    const r = await cli('--config', bot.config, 'check-config', '--connect');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `imap: 127\\.0\\.0\\.1:${stack.ports.imaps}: .*(auth|AUTHENTICATIONFAILED|Command failed)`,
        'i',
      ),
    );
    expect(USERS.bot.pass).not.toBe('wrong');
  });
});
