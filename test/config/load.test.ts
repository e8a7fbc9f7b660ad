import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatPath, loadConfig, toPolicy, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { DEFAULT_LIMITS } from '../../src/config/schema.js';
import { DEFAULT_POLICY } from '../../src/protocol/policy.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'config.example.json');

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vultron-mail-config-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `value` (JSON, or raw text) as a config file and loads it with an empty environment. */
function load(value: unknown, env: NodeJS.ProcessEnv = {}, name = 'config.json') {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return loadConfig(file, env);
}

function ok(result: ReturnType<typeof loadConfig>): Config {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.issues.join('\n')}`);
  return result.config;
}

function issues(result: ReturnType<typeof loadConfig>): string[] {
  if (result.ok) throw new Error('expected problems, the config is valid');
  return result.issues;
}

/** The smallest valid config. */
function minimal(): Record<string, unknown> {
  return {
    bot: { address: 'cvd@example.org' },
    outbox: { directory: './outbox' },
    coordinators: ['coord@example.org'],
  };
}

function example(): Record<string, unknown> {
  return JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
}

describe('config.example.json', () => {
  it('is valid, with the embedded defaults', () => {
    const config = ok(loadConfig(EXAMPLE, {}));
    const root = join(import.meta.dirname, '..', '..');
    expect(config.store.path).toBe(join(root, 'vultron-mail.sqlite'));
    expect(config.outbox).toEqual({ directory: join(root, 'outbox'), giveUpHours: 72 });
    expect(config.smtp).toBeUndefined();
    expect(config.security).toEqual({
      requireAuthenticatedSender: false,
      rateCaps: { perSenderPerHour: 30, perSenderPerCasePerHour: 10 },
    });
    expect(toPolicy(config)).toEqual(DEFAULT_POLICY);
    expect(config.limits).toEqual(DEFAULT_LIMITS);
  });

  it('sets every key whose default it states to that default', () => {
    // The example documents the defaults: filling the minimal config gives the same values.
    const full = ok(load(example()));
    const min = ok(load({ ...minimal(), store: { path: './vultron-mail.sqlite' } }));
    expect(min.policy).toEqual(full.policy);
    expect(min.limits).toEqual(full.limits);
    expect(min.security).toEqual(full.security);
    expect(min.store).toEqual(full.store);
    expect(min.outbox).toEqual(full.outbox);
    expect(min.health).toEqual(full.health);
  });
});

describe('defaults', () => {
  it('fills every optional key', () => {
    expect(ok(load(minimal()))).toEqual({
      bot: { address: 'cvd@example.org', name: 'Vultron Mail', domain: 'example.org', caseIdPrefix: 'VM' },
      store: { path: join(dir, 'vultron-mail.sqlite') },
      outbox: { directory: join(dir, 'outbox'), giveUpHours: 72 },
      coordinators: ['coord@example.org'],
      contacts: [],
      policy: {
        quorum: 'vendors-and-reporter',
        embargo: { defaultDays: 45, minHours: 24, maxDays: 90 },
        rsvpDays: 7,
        attacksImplyPublic: false,
        terminateOnAttacks: true,
        rejectPendingOnFixReady: true,
        reminderDays: [7, 1],
        rsvpReminderHours: 48,
        vendorResponseDays: 7,
      },
      security: {
        requireAuthenticatedSender: false,
        rateCaps: { perSenderPerHour: 30, perSenderPerCasePerHour: 10 },
      },
      limits: {
        maxMessageBytes: 52428800,
        maxMimeDepth: 20,
        maxHeaderBytes: 262144,
        maxParts: 500,
        maxAttachmentBytes: 52428800,
        maxTextChars: 1000000,
        maxIcsLines: 20000,
        maxIcsComponents: 200,
        maxRecipients: 100,
      },
      health: { host: '127.0.0.1' },
      templates: {},
    });
  });

  it('fills the imap defaults', () => {
    const config = ok(
      load({ ...minimal(), imap: { host: 'imap.example.org', auth: { user: 'u', pass: 'p' } } }),
    );
    expect(config.imap).toEqual({
      host: 'imap.example.org',
      port: 993,
      secure: true,
      auth: { user: 'u', pass: 'p' },
      mailbox: 'INBOX',
      processedMailbox: 'Processed',
    });
  });

  it('requires authenticated senders by default only when a trusted authserv-id is set', () => {
    const withId = ok(load({ ...minimal(), security: { trustedAuthservId: 'mx.example.org' } }));
    expect(withId.security.requireAuthenticatedSender).toBe(true);
    const off = ok(
      load({
        ...minimal(),
        security: { trustedAuthservId: 'mx.example.org', requireAuthenticatedSender: false },
      }),
    );
    expect(off.security.requireAuthenticatedSender).toBe(false);
    expect(ok(load(minimal())).security.requireAuthenticatedSender).toBe(false);
  });

  it('maps policy onto the protocol Policy', () => {
    const config = ok(
      load({
        ...minimal(),
        policy: {
          quorum: 'any',
          embargo: { defaultDays: 30, minHours: 48, maxDays: 60 },
          rsvpDays: 5,
          attacksImplyPublic: true,
          terminateOnAttacks: false,
          rejectPendingOnFixReady: false,
          reminderDays: [3],
          rsvpReminderHours: 24,
          vendorResponseDays: 10,
        },
      }),
    );
    expect(toPolicy(config)).toStrictEqual({
      quorum: 'any',
      embargo: { defaultDays: 30, minHours: 48, maxDays: 60 },
      rsvpDays: 5,
      attacksImplyPublic: true,
      terminateOnAttacks: false,
      rejectPendingOnFixReady: false,
      reminderDays: [3],
      rsvpReminderHours: 24,
      vendorResponseDays: 10,
    });
  });

  it('passes other nodemailer options under smtp through', () => {
    const config = ok(
      load({
        bot: { address: 'cvd@example.org' },
        coordinators: ['coord@example.org'],
        smtp: {
          host: 'smtp.example.org',
          port: 587,
          secure: false,
          auth: { user: 'cvd', pass: 'secret' },
          tls: { rejectUnauthorized: false },
          pool: true,
          connectionTimeout: 10000,
        },
      }),
    );
    expect(config.smtp).toEqual({
      host: 'smtp.example.org',
      port: 587,
      secure: false,
      auth: { user: 'cvd', pass: 'secret' },
      tls: { rejectUnauthorized: false },
      pool: true,
      connectionTimeout: 10000,
    });
    expect(config.outbox).toEqual({ giveUpHours: 72 });
  });
});

describe('mistakes', () => {
  it('an unknown key at the top level', () => {
    expect(issues(load({ ...minimal(), polcy: {} }))).toEqual(['polcy: unknown key']);
  });

  it('unknown keys nested', () => {
    expect(
      issues(
        load({
          ...minimal(),
          policy: { embargo: { maxDay: 30 } },
          imap: { host: 'h', auth: { user: 'u', pass: 'p', password: 'p' } },
          contacts: [{ email: 'a@example.org', maxDays: 3 }],
        }),
      ),
    ).toEqual([
      'imap.auth.password: unknown key',
      'contacts[0].maxDays: unknown key',
      'policy.embargo.maxDay: unknown key',
    ]);
  });

  it('wrong types', () => {
    expect(
      issues(
        load({
          ...minimal(),
          bot: { address: 'cvd@example.org', caseIdPrefix: 7 },
          outbox: { directory: './outbox', giveUpHours: '72' },
          policy: { rsvpDays: 2.5, attacksImplyPublic: 'no', reminderDays: [7, -1] },
          limits: { maxMessageBytes: 0 },
        }),
      ),
    ).toEqual([
      'bot.caseIdPrefix: expected a string, got 7',
      'outbox.giveUpHours: expected a number, got "72"',
      'policy.rsvpDays: expected an integer, got 2.5',
      'policy.attacksImplyPublic: expected true or false, got "no"',
      'policy.reminderDays[1]: must be greater than 0',
      'limits.maxMessageBytes: must be greater than 0',
    ]);
  });

  it('missing required keys', () => {
    expect(issues(load({ outbox: { directory: 'o' } }))).toEqual(['bot: required', 'coordinators: required']);
    expect(
      issues(
        load({ ...minimal(), bot: { name: 'x' }, imap: { auth: { user: 'u' } }, contacts: [{ name: 'n' }] }),
      ),
    ).toEqual([
      'bot.address: required',
      'imap.host: required',
      'imap.auth.pass: required (or set VULTRON_MAIL_IMAP_PASS)',
      'contacts[0].email: required',
    ]);
  });

  it('both smtp and outbox.directory', () => {
    expect(issues(load({ ...minimal(), smtp: { host: 'smtp.example.org' } }))).toEqual([
      'smtp: set either smtp or outbox.directory, not both',
    ]);
  });

  it('neither smtp nor outbox.directory', () => {
    expect(issues(load({ bot: { address: 'cvd@example.org' }, coordinators: ['c@example.org'] }))).toEqual([
      'outbox.directory: set either smtp (send by SMTP) or outbox.directory (write .eml files)',
    ]);
  });

  it('bad emails in coordinators and contacts, an empty coordinator list', () => {
    expect(
      issues(
        load({ ...minimal(), coordinators: ['ok@example.org', 'not an email'], contacts: [{ email: 'x@' }] }),
      ),
    ).toEqual(['coordinators[1]: not a valid email address', 'contacts[0].email: not a valid email address']);
    expect(issues(load({ ...minimal(), coordinators: [] }))).toEqual([
      'coordinators: at least one coordinator is required',
    ]);
  });

  it('a bad quorum value', () => {
    expect(issues(load({ ...minimal(), policy: { quorum: 'majority' } }))).toEqual([
      'policy.quorum: must be one of "all-engaged", "vendors-and-reporter", "any", got "majority"',
    ]);
  });

  it('inconsistent embargo limits, duplicate contacts, authentication without an authserv-id', () => {
    expect(
      issues(
        load({
          ...minimal(),
          policy: { embargo: { defaultDays: 100, minHours: 24, maxDays: 90 } },
          contacts: [{ email: 'a@example.org' }, { email: 'A@Example.org' }],
          security: { requireAuthenticatedSender: true },
        }),
      ),
    ).toEqual([
      'contacts[1].email: duplicate of contacts[0]',
      'policy.embargo.defaultDays: must not exceed maxDays (90)',
      'security.trustedAuthservId: required when requireAuthenticatedSender is true (the authserv-id of your MTA)',
    ]);
  });

  it('reports every problem at once', () => {
    expect(
      issues(
        load({
          bot: { address: 'nope', domain: 'bad domain', extra: 1 },
          smtp: { host: 'smtp.example.org', port: 70000 },
          outbox: { directory: './outbox' },
          coordinators: ['bad'],
          policy: { quorum: 'majority', embargo: { maxDays: '90' } },
          limits: { maxParts: -1 },
          health: { port: 'x' },
          unknown: true,
        }),
      ),
    ).toEqual([
      'bot.address: not a valid email address',
      'bot.domain: not a valid domain name',
      'bot.extra: unknown key',
      'smtp.port: must be at most 65535',
      'coordinators[0]: not a valid email address',
      'policy.quorum: must be one of "all-engaged", "vendors-and-reporter", "any", got "majority"',
      'policy.embargo.maxDays: expected a number, got "90"',
      'limits.maxParts: must be greater than 0',
      'health.port: expected a number, got "x"',
      'unknown: unknown key',
      'smtp: set either smtp or outbox.directory, not both',
    ]);
  });

  it('a root that is not an object', () => {
    expect(issues(load('[]'))).toEqual(['(root): expected an object, got a list']);
  });

  it('invalid JSON, with line and column', () => {
    const file = join(dir, 'config.json');
    expect(issues(load('{\n  "bot": {\n    "address": "cvd@example.org",\n  }\n}\n'))).toEqual([
      `${file}:4:3: invalid JSON: Expected double-quoted property name`,
    ]);
    expect(issues(load('{\n  "bot": '))).toEqual([
      `${file}:2:10: invalid JSON: Unexpected end of JSON input`,
    ]);
  });

  it('a missing file', () => {
    const file = join(dir, 'nope.json');
    expect(loadConfig(file, {})).toEqual({
      ok: false,
      issues: [`${file}: cannot read the config file: no such file`],
    });
  });
});

describe('secrets from the environment', () => {
  it('override imap.auth.pass and smtp.auth.pass', () => {
    const imap = { host: 'imap.example.org', auth: { user: 'u', pass: 'from-file' } };
    const viaImap = ok(load({ ...minimal(), imap }, { VULTRON_MAIL_IMAP_PASS: 'imap-secret' }));
    expect(viaImap.imap?.auth).toEqual({ user: 'u', pass: 'imap-secret' });

    const smtpConfig = {
      bot: { address: 'cvd@example.org' },
      coordinators: ['c@example.org'],
      smtp: { host: 'smtp.example.org', auth: { user: 's', pass: 'from-file' } },
    };
    const viaSmtp = ok(load(smtpConfig, { VULTRON_MAIL_SMTP_PASS: 'smtp-secret' }));
    expect(viaSmtp.smtp?.auth).toEqual({ user: 's', pass: 'smtp-secret' });
    expect(ok(load(smtpConfig, {})).smtp?.auth).toEqual({ user: 's', pass: 'from-file' });
  });

  it('supply a password the file leaves out, and are ignored where the section is absent', () => {
    const imap = { host: 'imap.example.org', auth: { user: 'u' } };
    expect(ok(load({ ...minimal(), imap }, { VULTRON_MAIL_IMAP_PASS: 'imap-secret' })).imap?.auth).toEqual({
      user: 'u',
      pass: 'imap-secret',
    });
    const none = ok(load(minimal(), { VULTRON_MAIL_IMAP_PASS: 'x', VULTRON_MAIL_SMTP_PASS: 'y' }));
    expect(none.imap).toBeUndefined();
    expect(none.smtp).toBeUndefined();
  });

  it('default to process.env', () => {
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({ ...minimal(), imap: { host: 'h', auth: { user: 'u', pass: 'p' } } }),
    );
    const before = process.env['VULTRON_MAIL_IMAP_PASS'];
    process.env['VULTRON_MAIL_IMAP_PASS'] = 'from-process-env';
    try {
      expect(ok(loadConfig(file)).imap?.auth.pass).toBe('from-process-env');
    } finally {
      if (before === undefined) delete process.env['VULTRON_MAIL_IMAP_PASS'];
      else process.env['VULTRON_MAIL_IMAP_PASS'] = before;
    }
  });
});

describe('paths', () => {
  it('resolves relative paths against the config file folder, keeps absolute ones', () => {
    mkdirSync(join(dir, 'etc'));
    const config = ok(
      load(
        {
          ...minimal(),
          store: { path: '../var/cases.sqlite' },
          outbox: { directory: 'spool/out' },
          templates: { directory: './templates' },
        },
        {},
        join('etc', 'config.json'),
      ),
    );
    expect(config.store.path).toBe(join(dir, 'var', 'cases.sqlite'));
    expect(config.outbox.directory).toBe(join(dir, 'etc', 'spool', 'out'));
    expect(config.templates.directory).toBe(join(dir, 'etc', 'templates'));

    const abs = ok(load({ ...minimal(), store: { path: '/srv/vm/cases.sqlite' } }));
    expect(abs.store.path).toBe('/srv/vm/cases.sqlite');
  });
});

describe('helpers', () => {
  it('formatPath writes array indexes in brackets', () => {
    expect(formatPath(['contacts', 0, 'email'])).toBe('contacts[0].email');
    expect(formatPath(['coordinators', 2])).toBe('coordinators[2]');
    expect(formatPath([])).toBe('');
  });

  it('validateConfig does not resolve paths', () => {
    const result = validateConfig(minimal());
    expect(result.ok && result.config.outbox.directory).toBe('./outbox');
  });
});
