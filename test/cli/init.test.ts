/** `init` and `check-config`: what is created, what is refused, and every kind of config mistake. */
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Sandbox } from './helpers.js';
import { run, sandbox } from './helpers.js';

let s: Sandbox;

beforeEach(async () => {
  s = await sandbox({ init: false });
});
afterEach(() => s.cleanup());

/** The lines a handled failure wrote: exactly one reason line, then (config problems) indented lines. */
function stderrLines(stderr: string): string[] {
  expect(stderr.endsWith('\n')).toBe(true);
  return stderr.slice(0, -1).split('\n');
}

describe('init', () => {
  it('writes config.json with sender authentication off, creates the database and the outbox folder', async () => {
    const r = await run(['init', '--dir', s.dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`wrote ${s.config}\n`);
    expect(r.stdout).toContain(`created database ${s.db}\n`);
    expect(r.stdout).toContain(`created outbox directory ${s.outbox}\n`);
    expect(existsSync(s.db)).toBe(true);
    expect(existsSync(s.outbox)).toBe(true);

    const written = JSON.parse(readFileSync(s.config, 'utf8')) as Record<string, Record<string, unknown>>;
    const example = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'config.example.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(written['security']?.['requireAuthenticatedSender']).toBe(false);
    expect(written['security']?.['trustedAuthservId']).toBeUndefined();
    expect({ ...written, security: undefined }).toEqual({ ...example, security: undefined });

    const loaded = loadConfig(s.config, {});
    expect(loaded.ok).toBe(true);
    if (loaded.ok) expect(loaded.config.security.requireAuthenticatedSender).toBe(false);
  });

  it('refuses to overwrite an existing config (exit 1) unless --force', async () => {
    expect((await run(['init', '--dir', s.dir])).code).toBe(0);
    writeFileSync(s.config, '{"edited": true}\n');

    const again = await run(['init', '--dir', s.dir]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(`vultron-mail: ${s.config} already exists (use --force to overwrite it)\n`);
    expect(readFileSync(s.config, 'utf8')).toBe('{"edited": true}\n');

    const forced = await run(['init', '--dir', s.dir, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`wrote ${s.config}\n`);
    expect(forced.stdout).toContain(`database (existing, up to date) ${s.db}\n`);
    expect(loadConfig(s.config, {}).ok).toBe(true);
  });

  it('writes to the --config path when no --dir is given, creating its folder', async () => {
    const target = join(s.dir, 'etc', 'vm.json');
    const r = await run(['--config', target, 'init']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${target}\n`);
    // Relative paths of the config are relative to its folder.
    expect(existsSync(join(s.dir, 'etc', 'vultron-mail.sqlite'))).toBe(true);
    expect(existsSync(join(s.dir, 'etc', 'outbox'))).toBe(true);
  });

  it('uses $VULTRON_MAIL_CONFIG when --config is not given', async () => {
    const target = join(s.dir, 'env.json');
    expect((await run(['init'], { env: { VULTRON_MAIL_CONFIG: target } })).code).toBe(0);
    expect(existsSync(target)).toBe(true);
    const r = await run(['check-config'], { env: { VULTRON_MAIL_CONFIG: target } });
    expect(r).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });
});

describe('check-config', () => {
  /** A config file in the sandbox; its store and outbox would be created in the sandbox. */
  function write(value: unknown): void {
    writeFileSync(s.config, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  }
  const minimal = () => ({
    bot: { address: 'cvd@example.org' },
    coordinators: ['coordinator@example.org'],
    outbox: { directory: './outbox' },
  });
  function nothingCreated(): void {
    expect(existsSync(s.db)).toBe(false);
    expect(existsSync(s.outbox)).toBe(false);
  }

  it('prints ok for the config init wrote', async () => {
    await run(['init', '--dir', s.dir]);
    expect(await s.cli('check-config')).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('prints ok for a valid config and creates nothing', async () => {
    write(minimal());
    expect(await s.cli('check-config')).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    nothingCreated();
  });

  it('a missing file: one line, exit 1', async () => {
    const r = await s.cli('check-config');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`vultron-mail: ${s.config}: cannot read the config file: no such file\n`);
    nothingCreated();
  });

  it('invalid JSON: one line naming the file and the position, exit 1', async () => {
    write('{\n  "bot": {,\n}\n');
    const r = await s.cli('check-config');
    expect(r.code).toBe(1);
    const lines = stderrLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^vultron-mail: ${s.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:2:\\d+)?: invalid JSON: `,
      ),
    );
    nothingCreated();
  });

  it('every problem of the content at once, one per line, exit 1', async () => {
    write({
      bot: { address: 'not-an-email' },
      coordinators: [],
      outbox: { directory: './outbox' },
      policy: { quorum: 'majority', embargo: { maxDay: 30 } },
      extra: true,
    });
    const r = await s.cli('check-config');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const [first, ...rest] = stderrLines(r.stderr);
    expect(first).toBe(`vultron-mail: ${s.config}: 5 problems`);
    expect(rest.sort()).toEqual(
      [
        '  bot.address: not a valid email address',
        '  coordinators: at least one coordinator is required',
        '  extra: unknown key',
        '  policy.embargo.maxDay: unknown key',
        '  policy.quorum: must be one of "all-engaged", "vendors-and-reporter", "any", got "majority"',
      ].sort(),
    );
    nothingCreated();
  });

  it('one problem: the count is singular', async () => {
    write({ ...minimal(), limits: { maxMessageBytes: 0 } });
    const r = await s.cli('check-config');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `vultron-mail: ${s.config}: 1 problem\n  limits.maxMessageBytes: must be greater than 0\n`,
    );
    nothingCreated();
  });

  it('both smtp and outbox.directory, or neither', async () => {
    write({ ...minimal(), smtp: { host: 'smtp.example.org' } });
    let r = await s.cli('check-config');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `vultron-mail: ${s.config}: 1 problem\n  smtp: set either smtp or outbox.directory, not both\n`,
    );

    write({ bot: { address: 'cvd@example.org' }, coordinators: ['coordinator@example.org'] });
    r = await s.cli('check-config');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `vultron-mail: ${s.config}: 1 problem\n  outbox.directory: set either smtp (send by SMTP) or outbox.directory (write .eml files)\n`,
    );
    nothingCreated();
  });

  it('a config problem stops every other command the same way, before anything is created', async () => {
    write({ ...minimal(), coordinators: ['nobody'] });
    const r = await s.cli('cases');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `vultron-mail: ${s.config}: 1 problem\n  coordinators[0]: not a valid email address\n`,
    );
    nothingCreated();
  });

  it('--connect with outbox.directory and an unreachable imap server: exit 1 naming it, creates nothing', async () => {
    write({
      ...minimal(),
      imap: { host: '127.0.0.1', port: 1, secure: false, auth: { user: 'cvd', pass: 'secret' } },
    });
    const r = await s.cli('check-config', '--connect');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'ok\n' + `outbox: .eml files will be written to ${s.outbox} (created on first use; no SMTP to test)\n`,
    );
    expect(r.stderr).toMatch(/^vultron-mail: imap: 127\.0\.0\.1:1: .*ECONNREFUSED/m);
    nothingCreated();
  });

  describe('--connect with smtp', () => {
    let server: Server;
    let port: number;
    let passwords: string[];

    beforeEach(async () => {
      passwords = [];
      // A minimal SMTP server: EHLO, AUTH PLAIN (accepts the password "from-env" only), QUIT.
      server = createServer((sock) => {
        sock.on('error', () => undefined);
        sock.write('220 fake.test ESMTP\r\n');
        let buf = '';
        sock.on('data', (d: Buffer) => {
          buf += d.toString('latin1');
          for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const [verb = '', mech, arg] = line.split(' ');
            if (verb.toUpperCase() === 'EHLO') sock.write('250-fake.test\r\n250 AUTH PLAIN\r\n');
            else if (verb.toUpperCase() === 'AUTH' && mech === 'PLAIN' && arg) {
              const pass = Buffer.from(arg, 'base64').toString().split('\0')[2] ?? '';
              passwords.push(pass);
              sock.write(pass === 'from-env' ? '235 2.7.0 ok\r\n' : '535 5.7.8 bad credentials\r\n');
            } else if (verb.toUpperCase() === 'QUIT') {
              sock.write('221 bye\r\n');
              sock.end();
            } else sock.write('502 5.5.2 not implemented\r\n');
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      write({
        bot: { address: 'cvd@example.org' },
        coordinators: ['coordinator@example.org'],
        smtp: {
          host: '127.0.0.1',
          port,
          secure: false,
          ignoreTLS: true,
          auth: { user: 'cvd', pass: 'in-file' },
        },
      });
    });
    afterEach(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('tests the login, with the password from VULTRON_MAIL_SMTP_PASS', async () => {
      const r = await run(['--config', s.config, 'check-config', '--connect'], {
        env: { VULTRON_MAIL_SMTP_PASS: 'from-env' },
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`ok\nsmtp: login ok (127.0.0.1:${port})\n`);
      expect(passwords).toEqual(['from-env']);
      expect(existsSync(s.db)).toBe(false);
    });

    it('a refused login is a handled failure on one line', async () => {
      const r = await s.cli('check-config', '--connect');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('ok\n');
      const lines = stderrLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^vultron-mail: smtp: 127\\.0\\.0\\.1:${port}: .*535`));
      expect(passwords).toEqual(['in-file']);
    });

    it('no server listening is a handled failure', async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server = createServer();
      server.listen(0);
      const r = await s.cli('check-config', '--connect');
      expect(r.code).toBe(1);
      expect(stderrLines(r.stderr)[0]).toMatch(new RegExp(`^vultron-mail: smtp: 127\\.0\\.0\\.1:${port}: `));
    });
  });

  it('does not create the folder of the store either', async () => {
    write({ ...minimal(), store: { path: './data/db.sqlite' } });
    expect((await s.cli('check-config')).code).toBe(0);
    expect(existsSync(join(s.dir, 'data'))).toBe(false);
  });
});
