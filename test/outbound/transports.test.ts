/**
 * Transports: the directory transport writes one file per Message-ID, atomically, and a re-send
 * replaces it; SMTP errors are classified temporary/permanent as RFC 5321 and nodemailer say.
 */
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import {
  DirectoryTransport,
  SmtpTransport,
  TransportError,
  classifySmtpError,
  messageIdFileName,
} from '../../src/outbound/transports.js';
import type { SmtpErrorLike, SmtpMailer } from '../../src/outbound/transports.js';
import type { OutboxRow } from '../../src/store/port.js';

function row(over: Partial<OutboxRow> = {}): OutboxRow {
  return {
    id: 1,
    caseId: 'VM-2026-0001',
    to: ['psirt@vendor.example'],
    subject: '[VM-2026-0001] Update',
    types: ['GI'],
    status: 'pending',
    attempts: 0,
    messageId: '<VM-2026-0001.0123456789abcdef@bot.example>',
    calendarMethod: null,
    raw: Buffer.from('Subject: first\r\n\r\nbody\r\n'),
    envelopeFrom: 'vultron+bounce-VM-2026-0001.0123456789abcdef@bot.example',
    createdAt: '2026-05-04T10:20:30Z',
    nextAttemptAt: '2026-05-04T10:20:30Z',
    lastError: null,
    sentAt: null,
    ...over,
  };
}

describe('DirectoryTransport', () => {
  it('writes the raw bytes to <message-id>.eml and leaves no temporary file', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'vm-outbox-')), 'nested', 'outbox');
    const transport = new DirectoryTransport(dir);
    await transport.send(row());
    expect(await readdir(dir)).toEqual(['VM-2026-0001.0123456789abcdef@bot.example.eml']);
    expect(await readFile(join(dir, 'VM-2026-0001.0123456789abcdef@bot.example.eml'))).toEqual(row().raw);
    await transport.close();
  });

  it('overwrites the same file when the same Message-ID is sent again (re-send after a crash)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vm-outbox-'));
    const transport = new DirectoryTransport(dir);
    await transport.send(row());
    const again = Buffer.from('Subject: second\r\n\r\nbody\r\n');
    await transport.send(row({ raw: again, attempts: 1 }));
    await transport.send(row({ messageId: '<VM-2026-0001.other@bot.example>' }));
    expect((await readdir(dir)).sort()).toEqual([
      'VM-2026-0001.0123456789abcdef@bot.example.eml',
      'VM-2026-0001.other@bot.example.eml',
    ]);
    expect(await readFile(transport.fileFor(row()))).toEqual(again);
  });

  it('keeps a hostile Message-ID inside the directory', () => {
    expect(messageIdFileName('<../../etc/passwd@x>')).toBe('__.._etc_passwd@x');
    expect(messageIdFileName('<a/b\\c:d*e?@x>')).toBe('a_b_c_d_e_@x');
    expect(messageIdFileName('<>')).toBe('_');
    expect(messageIdFileName(`<${'a'.repeat(300)}@x>`)).toHaveLength(200);
  });

  it('reports a write failure as a temporary TransportError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vm-outbox-'));
    // A file where the directory should be: mkdir fails.
    await new DirectoryTransport(dir).send(row());
    const blocked = new DirectoryTransport(join(dir, 'VM-2026-0001.0123456789abcdef@bot.example.eml'));
    const err = await blocked.send(row()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'EOUTBOX_WRITE', temporary: true, responseCode: null });
  });
});

describe('classifySmtpError', () => {
  // Shapes as nodemailer's smtp-connection builds them (_formatError: code, response, responseCode, command).
  it.each<[string, SmtpErrorLike, boolean, number | null]>([
    ['421 service not available', { code: 'EENVELOPE', responseCode: 421, command: 'RCPT TO' }, true, 421],
    ['450 mailbox busy', { code: 'EENVELOPE', responseCode: 450, command: 'RCPT TO' }, true, 450],
    ['451 local error at DATA', { code: 'EMESSAGE', responseCode: 451, command: 'DATA' }, true, 451],
    ['550 no such user', { code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }, false, 550],
    ['554 message rejected', { code: 'EMESSAGE', responseCode: 554, command: 'DATA' }, false, 554],
    ['503 bad sequence (the session, not the message)', { code: 'EPROTOCOL', responseCode: 503 }, true, 503],
    [
      'one rejected recipient, judged by its own reply',
      { code: 'EENVELOPE', rejectedErrors: [{ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }] },
      false,
      550,
    ],
    [
      'a greylisted recipient',
      { code: 'EENVELOPE', rejectedErrors: [{ code: 'EENVELOPE', responseCode: 450, command: 'RCPT TO' }] },
      true,
      450,
    ],
    ['ECONNREFUSED, as nodemailer wraps it', { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, true, null],
    ['ECONNREFUSED, bare', { code: 'ECONNREFUSED' }, true, null],
    ['connection closed', { code: 'ECONNECTION' }, true, null],
    ['timeout', { code: 'ETIMEDOUT' }, true, null],
    ['DNS failure', { code: 'EDNS', originalCode: 'ENOTFOUND' }, true, null],
    [
      '535 our credentials (admin fixes the config)',
      { code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' },
      true,
      535,
    ],
    ['553 our sender refused', { code: 'EENVELOPE', responseCode: 553, command: 'MAIL FROM' }, true, 553],
    ['no valid recipient, refused before sending', { code: 'EENVELOPE' }, false, null],
    ['anything unknown', { message: 'boom' }, true, null],
  ])('%s', (_name, err, temporary, responseCode) => {
    expect(classifySmtpError(err)).toEqual({ temporary, responseCode });
  });
});

describe('SmtpTransport', () => {
  it('sends the raw bytes with the row envelope: the VERP sender and the one recipient', async () => {
    const stream = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const sent: unknown[] = [];
    const mailer: SmtpMailer = {
      async sendMail(mail) {
        const info = await stream.sendMail(mail);
        sent.push(info);
        return {};
      },
      close: () => stream.close(),
    };
    const raw = Buffer.from(
      'To: someone-else@example.org\r\nBcc: x@example.org\r\nSubject: s\r\n\r\nbody\r\n',
    );
    await new SmtpTransport({}, mailer).send(row({ raw }));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      envelope: {
        from: 'vultron+bounce-VM-2026-0001.0123456789abcdef@bot.example',
        to: ['psirt@vendor.example'],
      },
      message: raw,
    });
  });

  it('turns a nodemailer error into a classified TransportError', async () => {
    const failing = (err: object): SmtpMailer => ({
      sendMail: () => Promise.reject(Object.assign(new Error('Message failed'), err)),
      close: () => undefined,
    });
    const perm = await new SmtpTransport(
      {},
      failing({ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }),
    )
      .send(row())
      .catch((e: unknown) => e);
    expect(perm).toBeInstanceOf(TransportError);
    expect(perm).toMatchObject({ code: 'ESMTP_PERM', temporary: false, responseCode: 550 });

    const temp = await new SmtpTransport({}, failing({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }))
      .send(row())
      .catch((e: unknown) => e);
    expect(temp).toMatchObject({
      code: 'ESMTP_TEMP',
      temporary: true,
      message: 'ECONNREFUSED: Message failed',
    });
  });

  it('never takes a rejected recipient for a delivery', async () => {
    const mailer: SmtpMailer = {
      sendMail: () =>
        Promise.resolve({
          rejected: ['psirt@vendor.example'],
          rejectedErrors: [
            { code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO', message: 'no such user' },
          ],
        }),
      close: () => undefined,
    };
    await expect(new SmtpTransport({}, mailer).send(row())).rejects.toMatchObject({
      code: 'ESMTP_PERM',
      temporary: false,
    });
  });
});
