/** A case and one MailEffect of every kind, shared by the outbound tests. */
import { newCase, newParticipant } from '../../src/protocol/index.js';
import type { CalendarAction, CaseSnapshot, MailEffect, MailKind } from '../../src/protocol/index.js';
import type { Bot, ComposeContext } from '../../src/outbound/compose.js';

export const NOW = '2026-05-04T10:20:30Z';
export const bot: Bot = { address: 'vultron@bot.example', name: 'Vultron CVD bot', domain: 'bot.example' };
export const TITLE = 'Heap overflow in FooServer login form';
export const REPORT_TEXT = 'FooServer 2.3 crashes when the login form gets 5000 bytes.\n\nPoC attached.\n';

export const COORDINATOR = 'coord@cert.example';
export const REPORTER = 'finder@example.org';
/** A vendor that has the report. */
export const VENDOR = 'psirt@vendor.example';
/** A vendor invited to the active embargo: no report yet. */
export const INVITEE = 'security@other-vendor.example';

export function snapshot(title = TITLE): CaseSnapshot {
  const s = newCase({
    id: 'VM-2026-0001',
    title,
    now: NOW,
    domain: bot.domain,
    coordinators: [{ email: COORDINATOR, name: 'Casey Coordinator' }],
  });
  s.participants.push(
    newParticipant(REPORTER, ['reporter', 'finder'], NOW, { name: 'Fin Der', rm: 'ACCEPTED' }),
    {
      ...newParticipant(VENDOR, ['vendor'], NOW, { rm: 'RECEIVED' }),
      reportSent: true,
      consent: 'SIGNATORY',
    },
    { ...newParticipant(INVITEE, ['vendor'], NOW), consent: 'INVITED' },
  );
  s.em = 'ACTIVE';
  s.embargo.end = '2027-03-01T23:59:59Z';
  s.embargo.active = 'E1';
  s.embargo.proposals.push({
    id: 'E1',
    n: 1,
    end: '2027-03-01T23:59:59Z',
    proposer: REPORTER,
    kind: 'proposal',
    status: 'accepted',
    uid: 'VM-2026-0001-embargo-1@bot.example',
    sequence: 0,
    acceptedBy: [VENDOR],
    declinedBy: [],
    proposedAt: NOW,
    rsvpDeadline: '2026-05-11T10:20:30Z',
    counterTo: null,
    decidedAt: NOW,
  });
  return s;
}

export function calendar(over: Partial<CalendarAction> = {}): CalendarAction {
  return {
    method: 'REQUEST',
    proposal: 'E1',
    uid: 'VM-2026-0001-embargo-1@bot.example',
    sequence: 0,
    status: 'CONFIRMED',
    end: '2027-03-01T23:59:59Z',
    attendee: INVITEE,
    partstat: 'NEEDS-ACTION',
    proposer: REPORTER,
    code: 'EP',
    ...over,
  };
}

function effect(kind: MailKind, over: Partial<MailEffect>): MailEffect {
  return {
    type: 'mail',
    kind,
    to: VENDOR,
    types: ['GI'],
    replyToInbound: false,
    calendar: null,
    data: { transitions: [] },
    ...over,
  };
}

/** One realistic effect per MailKind. */
export const EFFECTS: Readonly<Record<MailKind, MailEffect>> = {
  ack: effect('ack', {
    to: REPORTER,
    types: ['CK', 'ET'],
    replyToInbound: true,
    data: {
      transitions: [
        { code: 'CP', actor: REPORTER, text: 'public: https://example.org/advisory' },
        { code: 'ET', actor: null, text: 'embargo E1 terminated' },
      ],
    },
  }),
  notification: effect('notification', {
    types: ['CP', 'ET'],
    data: {
      transitions: [
        { code: 'CP', actor: REPORTER, text: 'public: https://example.org/advisory' },
        { code: 'ET', actor: null, text: 'embargo E1 terminated' },
      ],
      note: 'We published <today> & will "link" the fix.',
    },
  }),
  error: effect('error', {
    to: REPORTER,
    types: ['EE', 'GI'],
    replyToInbound: true,
    data: {
      transitions: [],
      error: {
        code: 'embargo-too-long',
        message: 'The proposed end is past the policy limit.',
        line: '/embargo +200d',
      },
      date: '2026-08-02T23:59:59Z',
    },
  }),
  report: effect('report', { types: ['RS'] }),
  invitation: effect('invitation', {
    to: INVITEE,
    types: ['EP'],
    calendar: calendar(),
    data: { transitions: [], date: '2026-05-11T10:20:30Z' },
  }),
  expiry: effect('expiry', {
    types: ['ET'],
    data: {
      transitions: [{ code: 'ET', actor: null, text: 'embargo E1 ended at its end' }],
      date: '2027-03-01T23:59:59Z',
    },
  }),
  reminder: effect('reminder', {
    to: INVITEE,
    calendar: calendar(),
    data: {
      transitions: [],
      lines: ['The invitation to embargo E1 is still unanswered.'],
      date: '2026-05-11T10:20:30Z',
    },
  }),
  alert: effect('alert', {
    to: COORDINATOR,
    data: { transitions: [], lines: [`${INVITEE} declined embargo E1: report withheld.`] },
  }),
  status: effect('status', { to: REPORTER, types: ['GK'], replyToInbound: true }),
  help: effect('help', { to: REPORTER, replyToInbound: true }),
};

export function context(over: Partial<ComposeContext> = {}): ComposeContext {
  return {
    snapshot: snapshot(),
    bot,
    messageId: '<VM-2026-0001.0123456789abcdef@bot.example>',
    inbound: {
      messageId: '<CAF00@mail.example.org>',
      references: ['<VM-2026-0001.aaaa@bot.example>'],
      subject: 'RE: [vm-2026-0001] Re: FooServer advisory',
    },
    report: {
      subject: 'Heap overflow in FooServer',
      text: REPORT_TEXT,
      attachments: [
        {
          filename: 'poc.bin',
          contentType: 'application/octet-stream',
          content: Buffer.from([0, 1, 2, 0xfe, 0xff, 13, 10]),
        },
        {
          filename: 'notes.txt',
          contentType: 'text/plain',
          content: Buffer.from('line 1\nline 2 \n\n\nend'),
        },
      ],
    },
    now: NOW,
    templatesDir: null,
    ...over,
  };
}
