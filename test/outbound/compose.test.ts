/**
 * composeMail: one MailEffect → one outbox row whose raw bytes are read back with mailparser.
 * Invariants: exact headers of DESIGN.md §2–3; threading on the case; the iMIP shape mail
 * clients recognise, with one method value for the Content-Type and the body; report
 * attachments byte-equal; no CR/LF from data in any header; no case data in the calendar, and
 * none at all for an invited participant that has no report.
 */
import { simpleParser } from 'mailparser';
import ical from 'node-ical';
import type { VEvent } from 'node-ical';
import { describe, expect, it } from 'vitest';
import {
  bareSubject,
  caseAddress,
  composeMail,
  newMessageId,
  parseVerp,
  threadRootId,
  verpAddress,
} from '../../src/outbound/compose.js';
import { MAIL_KINDS } from '../../src/outbound/templates.js';
import type { MailEffect } from '../../src/protocol/index.js';
import {
  EFFECTS,
  INVITEE,
  NOW,
  REPORT_TEXT,
  REPORTER,
  TITLE,
  VENDOR,
  bot,
  calendar,
  context,
  snapshot,
} from './fixtures.js';
import { header, headerBlock, mimeTree } from './mime-tree.js';
import type { MimePart } from './mime-tree.js';

const ROOT = '<VM-2026-0001@bot.example>';
const MESSAGE_ID = '<VM-2026-0001.0123456789abcdef@bot.example>';

async function compose(effect: MailEffect, ctx = context()) {
  const { row } = await composeMail(effect, ctx);
  return { row, tree: mimeTree(row.raw), parsed: await simpleParser(row.raw) };
}

describe('composeMail: headers', () => {
  it('sets exactly the headers of a notification, threaded on the case', async () => {
    const { tree } = await compose(EFFECTS.notification);
    expect(Object.fromEntries(tree.headers.filter(([n]) => n !== 'content-type'))).toEqual({
      'auto-submitted': 'auto-generated',
      'x-vultron-loop': 'vultron@bot.example',
      'x-auto-response-suppress': 'All',
      precedence: 'bulk',
      'x-vultron-message-types': 'CP, ET',
      'x-vultron-case': 'VM-2026-0001',
      from: 'Vultron CVD bot <vultron@bot.example>',
      to: 'psirt@vendor.example',
      'reply-to': 'vultron+VM-2026-0001@bot.example',
      'in-reply-to': ROOT,
      references: ROOT,
      subject:
        '[VM-2026-0001] Update: Public Awareness, Embargo Termination - Heap overflow in FooServer login form',
      'message-id': MESSAGE_ID,
      date: 'Mon, 04 May 2026 10:20:30 +0000',
      'mime-version': '1.0',
      'content-transfer-encoding': '7bit',
    });
    expect(tree.type).toBe('text/plain');
    expect(tree.params.charset).toBe('utf-8');
    expect(tree.parts).toHaveLength(0);
  });

  it('fills the outbox row from the effect and the context', async () => {
    const { row } = await compose(EFFECTS.notification);
    expect({ ...row, raw: undefined }).toEqual({
      caseId: 'VM-2026-0001',
      to: [VENDOR],
      subject:
        '[VM-2026-0001] Update: Public Awareness, Embargo Termination - Heap overflow in FooServer login form',
      types: ['CP', 'ET'],
      messageId: MESSAGE_ID,
      calendarMethod: null,
      raw: undefined,
      envelopeFrom: 'vultron+bounce-VM-2026-0001.0123456789abcdef@bot.example',
      createdAt: NOW,
      nextAttemptAt: NOW,
    });
    expect(row.raw.toString()).toMatch(/\r\n\r\n/);
    expect(row.raw.toString()).not.toMatch(/[^\r]\n/);
  });

  it('answers the inbound mail: In-Reply-To it, References root + its references + it, Re: subject', async () => {
    const { tree, row } = await compose(EFFECTS.ack);
    expect(header(tree, 'in-reply-to')).toBe('<CAF00@mail.example.org>');
    expect(header(tree, 'references')).toBe(
      `${ROOT} <VM-2026-0001.aaaa@bot.example> <CAF00@mail.example.org>`,
    );
    expect(header(tree, 'subject')).toBe('Re: [VM-2026-0001] FooServer advisory');
    expect(row.subject).toBe('Re: [VM-2026-0001] FooServer advisory');
    expect(header(tree, 'to')).toBe('Fin Der <finder@example.org>');
  });

  it('keeps only Message-ID tokens of the inbound References, at most 20, the root first and once', async () => {
    const references = [
      'garbage',
      '<a b@c>',
      ROOT,
      ...Array.from({ length: 30 }, (_, i) => `<r${i}@x.example>`),
    ];
    const ctx = context({ inbound: { messageId: '<p@x.example>', references, subject: 'hello' } });
    const { tree } = await compose(EFFECTS.ack, ctx);
    const refs = header(tree, 'references')!.split(' ');
    expect(refs[0]).toBe(ROOT);
    expect(refs.filter((r) => r === ROOT)).toHaveLength(1);
    expect(refs.slice(1)).toEqual([
      ...Array.from({ length: 20 }, (_, i) => `<r${i + 10}@x.example>`),
      '<p@x.example>',
    ]);
  });

  it('threads on the case root when there is no inbound mail to answer', async () => {
    const { tree } = await compose(EFFECTS.ack, context({ inbound: null }));
    expect(header(tree, 'in-reply-to')).toBe(ROOT);
    expect(header(tree, 'references')).toBe(ROOT);
    expect(header(tree, 'subject')).toBe(
      '[VM-2026-0001] Received: CS Acknowledgement, Embargo Termination - Heap overflow in FooServer login form',
    );
  });

  it.each(MAIL_KINDS)('marks %s with the Auto-Submitted value of RFC 3834', async (kind) => {
    const { tree } = await compose(EFFECTS[kind]);
    const replied = ['ack', 'error', 'status', 'help'].includes(kind);
    expect(header(tree, 'auto-submitted')).toBe(replied ? 'auto-replied' : 'auto-generated');
    expect(header(tree, 'precedence')).toBe('bulk');
    expect(header(tree, 'x-auto-response-suppress')).toBe('All');
    expect(header(tree, 'x-vultron-loop')).toBe('vultron@bot.example');
    expect(header(tree, 'x-vultron-message-types')).toBe(EFFECTS[kind].types.join(', '));
    // Short ASCII lines: the text goes out 7bit, readable as is and safe to sign inline.
    const text = (function find(part: MimePart): MimePart | undefined {
      return part.type === 'text/plain' ? part : part.parts.map(find).find(Boolean);
    })(tree);
    expect(header(text!, 'content-transfer-encoding')).toBe('7bit');
  });

  it('strips CR/LF from every header value it sets (header injection)', async () => {
    const evil = 'x\r\nBcc: evil@attacker.example\r\nX-Injected: 1\n\rTo: evil2@attacker.example';
    const ctx = context({
      snapshot: snapshot(`Heap overflow${evil}`),
      inbound: { messageId: '<p@x.example>', references: [`<q@x>${evil}`], subject: `Re: ${evil}` },
      report: {
        subject: `Report ${evil}`,
        text: 'body',
        attachments: [
          { filename: `a${evil}.txt`, contentType: `text/plain\r\nX-Injected: 2`, content: Buffer.from('a') },
        ],
      },
      bot: { ...bot, name: `Bot${evil}` },
    });
    const alert: MailEffect = { ...EFFECTS.alert, data: { transitions: [], lines: [`declined${evil}`] } };
    for (const effect of [EFFECTS.notification, EFFECTS.ack, EFFECTS.report, alert]) {
      const { row, parsed, tree } = await compose(effect, ctx);
      // The header lines of the message and of every part: none injected, one To.
      const names = (part: MimePart): string[] => [
        ...part.headers.map(([n]) => n),
        ...part.parts.flatMap(names),
      ];
      expect(names(tree).filter((n) => ['bcc', 'x-injected', 'to'].includes(n))).toEqual(['to']);
      expect(headerBlock(row.raw)).not.toMatch(/\r\n(bcc|x-injected|to):.*attacker/i);
      expect(parsed.bcc).toBeUndefined();
      expect(parsed.to && 'value' in parsed.to ? parsed.to.value.map((a) => a.address) : []).toEqual([
        effect.to,
      ]);
      expect(row.subject).not.toMatch(/[\r\n]/);
      expect(parsed.subject).toBe(row.subject);
      expect(parsed.headers.has('x-injected')).toBe(false);
    }
  });
});

describe('composeMail: embargo invitations (iMIP)', () => {
  it.each([
    ['REQUEST', 'CONFIRMED', INVITEE],
    ['CANCEL', 'CANCELLED', VENDOR],
    ['DECLINECOUNTER', 'TENTATIVE', VENDOR],
  ] as const)(
    'sends %s as multipart/alternative text + calendar, plus invite.ics',
    async (method, status, to) => {
      const effect: MailEffect = {
        ...EFFECTS.invitation,
        to,
        calendar: calendar({ method, status, attendee: to }),
      };
      const { row, tree, parsed } = await compose(effect);

      expect(row.calendarMethod).toBe(method);
      expect(tree.type).toBe('multipart/mixed');
      expect(tree.parts.map((p) => p.type)).toEqual(['multipart/alternative', 'application/ics']);
      const [alternative, attachment] = tree.parts;
      expect(alternative!.parts.map((p) => p.type)).toEqual(['text/plain', 'text/calendar']);
      const calendarPart = alternative!.parts[1]!;
      expect(calendarPart.params).toEqual({ charset: 'utf-8', method });
      expect(header(attachment!, 'content-disposition')).toBe('attachment; filename=invite.ics');

      // The method of the Content-Type and the METHOD of the body are the same value.
      const calendars = parsed.attachments.filter((a) => /calendar|ics/.test(a.contentType));
      expect(calendars.map((a) => a.contentType)).toEqual(['text/calendar', 'application/ics']);
      const [inline, file] = calendars.map((a) => a.content.toString());
      expect(file).toBe(inline);
      expect(inline).toContain(`\r\nMETHOD:${method}\r\n`);
      const data = ical.sync.parseICS(inline!);
      expect(data.vcalendar?.method).toBe(method);
      const event = data['VM-2026-0001-embargo-1@bot.example'] as VEvent;
      expect(event.status).toBe(status);
      expect(event.attendee).toMatchObject({ val: `MAILTO:${to}` });
      expect(event.dtstamp.toISOString()).toBe('2026-05-04T10:20:30.000Z');
    },
  );

  it('puts no title and no report text in the calendar, whoever receives it', async () => {
    const { parsed } = await compose({ ...EFFECTS.notification, calendar: calendar({ attendee: VENDOR }) });
    expect(parsed.text).toContain(TITLE); // this vendor has the report: the mail may name the case
    const ics = parsed.attachments.filter((a) => /calendar|ics/.test(a.contentType));
    expect(ics).toHaveLength(2);
    for (const a of ics) {
      const text = a.content.toString().replace(/\r\n[ \t]/g, '');
      expect(text).not.toContain('Heap overflow');
      expect(text).not.toContain('FooServer');
    }
  });

  it('gives an invited participant without the report nothing of the case but the invitation', async () => {
    for (const effect of [EFFECTS.invitation, EFFECTS.reminder]) {
      const { row, parsed } = await compose(effect);
      expect(row.to).toEqual([INVITEE]);
      const everything = [
        row.subject,
        parsed.text ?? '',
        ...parsed.attachments.map((a) => a.content.toString()),
      ];
      for (const text of everything) {
        expect(text).not.toContain('Heap overflow');
        expect(text).not.toContain('FooServer');
      }
    }
    expect((await compose(EFFECTS.invitation)).row.subject).toBe(
      '[VM-2026-0001] Embargo E1 in force until 2027-03-01 23:59:59 UTC',
    );
  });

  it('refuses a calendar addressed to someone else than the recipient', async () => {
    const effect: MailEffect = {
      ...EFFECTS.invitation,
      to: VENDOR,
      calendar: calendar({ attendee: INVITEE }),
    };
    await expect(composeMail(effect, context())).rejects.toThrow(/attendee is not the recipient/);
  });
});

describe('composeMail: the report', () => {
  it('forwards the report text and its attachments byte for byte', async () => {
    const ctx = context();
    const { row, parsed } = await compose(EFFECTS.report, ctx);
    expect(row.subject).toBe('[VM-2026-0001] Report: Heap overflow in FooServer');
    expect(row.types).toEqual(['RS']);
    expect(parsed.text).toContain(REPORT_TEXT);
    const files = parsed.attachments.filter((a) => a.contentDisposition === 'attachment');
    expect(files.map((a) => [a.filename, a.contentType])).toEqual([
      ['poc.bin', 'application/octet-stream'],
      ['notes.txt', 'text/plain'],
    ]);
    for (const [i, a] of files.entries())
      expect(a.content.equals(ctx.report!.attachments[i]!.content)).toBe(true);
  });

  it('needs the report content', async () => {
    await expect(composeMail(EFFECTS.report, context({ report: null }))).rejects.toThrow(/needs ctx.report/);
  });
});

describe('ids and addresses', () => {
  it('mints Message-IDs with the case id embedded, each one new', () => {
    const a = newMessageId('VM-2026-0001', 'bot.example');
    expect(a).toMatch(/^<VM-2026-0001\.[0-9a-f]{16}@bot\.example>$/);
    expect(newMessageId('VM-2026-0001', 'bot.example')).not.toBe(a);
    expect(threadRootId('VM-2026-0001', 'bot.example')).toBe(ROOT);
    expect(caseAddress('vultron@bot.example', 'VM-2026-0001')).toBe('vultron+VM-2026-0001@bot.example');
  });

  it('writes a VERP envelope sender that parses back to the Message-ID', () => {
    const verp = verpAddress('vultron@bot.example', MESSAGE_ID);
    expect(verp).toBe('vultron+bounce-VM-2026-0001.0123456789abcdef@bot.example');
    expect(parseVerp(verp)).toEqual({
      botAddress: 'vultron@bot.example',
      messageIdLocalPart: 'VM-2026-0001.0123456789abcdef',
    });
    expect(parseVerp('<Vultron+BOUNCE-VM-2026-0001.ab@bot.example>')).toEqual({
      botAddress: 'Vultron@bot.example',
      messageIdLocalPart: 'VM-2026-0001.ab',
    });
    expect(parseVerp('vultron@bot.example')).toBeNull();
    expect(parseVerp('vultron+VM-2026-0001@bot.example')).toBeNull();
    expect(parseVerp('vultron+bounce-@bot.example')).toBeNull();
    expect(parseVerp('not an address')).toBeNull();
    expect(() => verpAddress('vultron@bot.example', 'no-brackets@x')).toThrow(/Message-ID/);
  });

  it.each([
    ['RE: [vm-2026-0001] Re: FooServer advisory', 'FooServer advisory'],
    ['AW: Fwd: [VM-2026-0001] x', 'x'],
    ['[VM-2026-0001] Re: [VM-2026-0001] x', 'x'],
    ['Re[2]: hello', 'hello'],
    ['Accepted: VM-2026-0001 embargo expiration', 'Accepted: VM-2026-0001 embargo expiration'],
    ['Report about [VM-2026-0002]', 'Report about [VM-2026-0002]'],
  ])('bareSubject(%j) = %j', (subject, bare) => {
    expect(bareSubject(subject, 'VM-2026-0001')).toBe(bare);
  });

  it('shows the title only to those who may read the case', async () => {
    const toReporter = await compose({ ...EFFECTS.notification, to: REPORTER });
    expect(toReporter.row.subject).toContain(TITLE);
    const toInvitee = await compose({ ...EFFECTS.notification, to: INVITEE });
    expect(toInvitee.row.subject).toBe('[VM-2026-0001] Update: Public Awareness, Embargo Termination');
    expect(toInvitee.parsed.text).not.toContain(TITLE);
  });
});
