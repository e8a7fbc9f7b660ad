/**
 * A whole disclosure case (issue 3), played through `vultron-mail ingest` / `tick` with real
 * RFC 822 messages on a real SQLite file and the directory outbox made by `init`, the clock
 * injected with `--now`:
 *
 *   report → the coordinator invites two vendors (`/invite`) → both vendors `/accept` → the
 *   reporter proposes an embargo (`/embargo 2027-01-20`) → both vendors `/embargo accept` (the
 *   second completes the quorum) → vendor A `/fix-ready` → vendor A `/public <url>` (ET).
 *
 * and a variant in which the first report carries the embargo (active at once), the vendors are
 * invited into it (the report withheld until they accept), and the embargo ends by expiry
 * (`tick --now <end>`).
 *
 * After each step the exact mails sent are checked (the table in each test): recipient, types,
 * subject, calendar method and status, and the threading headers of the .eml written (a reply
 * answers the inbound Message-ID; every mail references the thread root). At the end, the whole
 * `case show --json`. Incoming fixtures are in fixtures/demo/ (NN-*.eml); replies to the bot's
 * own mails are built in the test, with In-Reply-To/References to the Message-ID read from
 * `outbox --json`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaseSnapshot } from '../../src/protocol/index.js';
import type { Sandbox } from '../cli/helpers.js';
import { COORDINATOR, jsonOf, sandbox } from '../cli/helpers.js';
import type { Out, Step } from '../helpers/scenario.js';
import { play } from '../helpers/scenario.js';

const CASE = 'VM-2026-0001';
const DOMAIN = 'example.org';
const ROOT = `<${CASE}@${DOMAIN}>`;
const UID = `${CASE}-embargo-1@${DOMAIN}`;
const TITLE = 'Heap overflow in libexample 2.3 image decoder';
const END = '2027-01-20T23:59:59Z';

const REPORTER = 'alice@finder.example';
const COORD = COORDINATOR;
const A = 'psirt@vendor-a.example';
const B = 'psirt@vendor-b.example';

/** Subjects of the bot's mails. */
const RE = (original: string) => `Re: [${CASE}] ${original}`;
const REPORT = `[${CASE}] Report: ${TITLE}`;
const UPDATE = (names: string) => `[${CASE}] Update: ${names} - ${TITLE}`;
const IN_FORCE = `[${CASE}] Embargo E1 in force until 2027-01-20 23:59:59 UTC`;
const REMINDER = `[${CASE}] Reminder - ${TITLE}`;
const ENDED = `[${CASE}] Embargo ended - ${TITLE}`;

/** Rows of the expected tables. */
const ack = (to: string, types: string[], subject: string, cal: Out['cal'] = null): Out => ({
  to,
  types,
  subject,
  cal,
  thread: 'reply',
});
const note = (to: string, types: string[], subject: string, cal: Out['cal'] = null): Out => ({
  to,
  types,
  subject,
  cal,
  thread: 'case',
});
const reportTo = (to: string): Out => note(to, ['RS'], REPORT);

const AWARE_ACCEPTED = UPDATE('Vendor Awareness, Report Accepted');
const PROPOSAL = UPDATE('Embargo Proposal');
const ACCEPTANCE = UPDATE('Embargo Proposal Acceptance');

const VENDOR_A = { from: A, name: 'Vendor A PSIRT' };
const VENDOR_B = { from: B, name: 'Vendor B PSIRT' };

let s: Sandbox;
beforeEach(async () => {
  s = await sandbox();
});
afterEach(() => s.cleanup());

async function show(): Promise<CaseSnapshot> {
  return jsonOf<CaseSnapshot>(await s.cli('case', 'show', CASE, '--json'));
}

const participant = (
  email: string,
  over: Partial<CaseSnapshot['participants'][number]>,
): CaseSnapshot['participants'][number] => ({
  email,
  name: null,
  roles: ['vendor'],
  rm: 'RECEIVED',
  vfd: 'vfd',
  deployed: false,
  engaged: true,
  embargoAdherence: true,
  consent: 'NO_EMBARGO',
  reportSent: true,
  undeliverable: false,
  maxEmbargoDays: null,
  joinedAt: '',
  ...over,
});

const log = (at: string, kind: string, from: string | null, types: string[], detail: string) => ({
  at,
  kind,
  from,
  types,
  detail,
});

describe('a whole case by mail (issue 3)', () => {
  it('report → invite two vendors → /accept → /embargo → both accept → /fix-ready → /public ends the embargo (ET)', async () => {
    const steps: Step[] = [
      {
        label: '1 the report (no embargo) opens the case',
        now: '2026-12-07T09:12:00Z',
        input: { fixture: '01-report-no-embargo.eml' },
        stdout: `$FILE: opened ${CASE} new case ${CASE}\n`,
        out: [ack(REPORTER, ['RK'], RE(TITLE)), reportTo(COORD)],
      },
      {
        label: '2 the coordinator invites vendor A',
        now: '2026-12-07T10:00:00Z',
        input: { fixture: '02-invite-vendor-a.eml' },
        stdout: `$FILE: applied ${CASE} GI\n`,
        out: [ack(COORD, ['GK'], RE('adding Vendor A')), reportTo(A)],
      },
      {
        label: '3 the coordinator invites vendor B',
        now: '2026-12-07T10:05:00Z',
        input: { fixture: '03-invite-vendor-b.eml' },
        stdout: `$FILE: applied ${CASE} GI\n`,
        out: [ack(COORD, ['GK'], RE('adding Vendor B')), reportTo(B)],
      },
      {
        label: '4 vendor A accepts the report (and so is aware)',
        now: '2026-12-08T08:00:00Z',
        input: {
          reply: {
            ...VENDOR_A,
            messageId: '<a-1@vendor-a.example>',
            parent: { to: A, types: ['RS'] },
            body: 'Thanks, we are on it.\n\n/accept\n\n-- \nVendor A PSIRT\n',
          },
        },
        stdout: `$FILE: applied ${CASE} RA\n`,
        out: [
          ack(A, ['RK'], RE(`Report: ${TITLE}`)),
          note(COORD, ['CV', 'RA'], AWARE_ACCEPTED),
          note(REPORTER, ['CV', 'RA'], AWARE_ACCEPTED),
          note(B, ['CV', 'RA'], AWARE_ACCEPTED),
        ],
      },
      {
        label: '5 vendor B accepts the report',
        now: '2026-12-08T09:00:00Z',
        input: {
          reply: {
            ...VENDOR_B,
            messageId: '<b-1@vendor-b.example>',
            parent: { to: B, types: ['RS'] },
            body: '/accept\n',
          },
        },
        stdout: `$FILE: applied ${CASE} RA\n`,
        out: [
          ack(B, ['RK'], RE(`Report: ${TITLE}`)),
          note(COORD, ['CV', 'RA'], AWARE_ACCEPTED),
          note(REPORTER, ['CV', 'RA'], AWARE_ACCEPTED),
          note(A, ['CV', 'RA'], AWARE_ACCEPTED),
        ],
      },
      {
        label: '6 the reporter proposes an embargo: invitations to the others',
        now: '2026-12-08T12:00:00Z',
        input: { fixture: '06-reporter-embargo.eml' },
        stdout: `$FILE: applied ${CASE} EP\n`,
        out: [
          ack(REPORTER, ['EK'], RE(TITLE)),
          note(COORD, ['EP'], PROPOSAL, 'REQUEST/TENTATIVE'),
          note(A, ['EP'], PROPOSAL, 'REQUEST/TENTATIVE'),
          note(B, ['EP'], PROPOSAL, 'REQUEST/TENTATIVE'),
        ],
      },
      {
        label: '7 vendor A accepts the embargo (1 of 2)',
        now: '2026-12-09T08:00:00Z',
        input: {
          reply: {
            ...VENDOR_A,
            messageId: '<a-2@vendor-a.example>',
            parent: { to: A, types: ['EP'] },
            body: '/embargo accept\n',
          },
        },
        stdout: `$FILE: applied ${CASE} EA\n`,
        out: [
          ack(A, ['EK'], RE(`Update: Embargo Proposal - ${TITLE}`)),
          note(COORD, ['EA'], ACCEPTANCE),
          note(REPORTER, ['EA'], ACCEPTANCE),
          note(B, ['EA'], ACCEPTANCE),
        ],
      },
      {
        label: '8 vendor B accepts: the quorum is reached, the embargo is in force',
        now: '2026-12-09T09:00:00Z',
        input: {
          reply: {
            ...VENDOR_B,
            messageId: '<b-2@vendor-b.example>',
            parent: { to: B, types: ['EP'] },
            body: '/embargo accept\n',
          },
        },
        stdout: `$FILE: applied ${CASE} EA\n`,
        out: [
          ack(B, ['EK', 'EA'], RE(`Update: Embargo Proposal - ${TITLE}`), 'REQUEST/CONFIRMED'),
          note(COORD, ['EA'], ACCEPTANCE, 'REQUEST/CONFIRMED'),
          note(REPORTER, ['EA'], ACCEPTANCE, 'REQUEST/CONFIRMED'),
          note(A, ['EA'], ACCEPTANCE, 'REQUEST/CONFIRMED'),
        ],
      },
      {
        label: '9 vendor A has a fix ready; the embargo continues',
        now: '2027-01-05T08:00:00Z',
        input: {
          reply: {
            ...VENDOR_A,
            messageId: '<a-3@vendor-a.example>',
            parent: { to: A, types: ['EA'] },
            body: 'libexample 2.3.1 fixes it.\n\n/fix-ready\n',
          },
        },
        stdout: `$FILE: applied ${CASE} CF\n`,
        out: [
          ack(A, ['CK'], RE(`Update: Embargo Proposal Acceptance - ${TITLE}`)),
          note(COORD, ['CF'], UPDATE('Fix Readiness')),
          note(REPORTER, ['CF'], UPDATE('Fix Readiness')),
          note(B, ['CF'], UPDATE('Fix Readiness')),
        ],
      },
      {
        label: '10 vendor A publishes its advisory: CP ends the embargo (ET, CANCEL)',
        now: '2027-01-12T08:00:00Z',
        input: { fixture: '10-vendor-a-public.eml' },
        stdout: `$FILE: applied ${CASE} CP\n`,
        out: [
          ack(A, ['CK', 'ET'], RE('advisory VA-2027-01 published'), 'CANCEL/CANCELLED'),
          note(COORD, ['CP', 'ET'], UPDATE('Public Awareness, Embargo Termination'), 'CANCEL/CANCELLED'),
          note(REPORTER, ['CP', 'ET'], UPDATE('Public Awareness, Embargo Termination'), 'CANCEL/CANCELLED'),
          note(B, ['CP', 'ET'], UPDATE('Public Awareness, Embargo Termination'), 'CANCEL/CANCELLED'),
        ],
      },
      {
        label: '11 after the old end, no reminder and no expiry: only stale timers, no mail',
        now: '2027-01-21T00:00:00Z',
        input: { tick: true },
        stdout: 'fired 2 timers\nsent 0, failed 0\n',
        out: [],
      },
    ];
    const { rows } = await play(s, steps, { caseId: CASE, domain: DOMAIN, root: ROOT, uid: UID });
    expect(rows).toHaveLength(34);
    expect(new Set(rows.map((r) => r.messageId)).size).toBe(rows.length);

    const A_JOINED = '2026-12-07T10:00:00Z';
    const B_JOINED = '2026-12-07T10:05:00Z';
    expect(await show()).toEqual({
      id: CASE,
      title: TITLE,
      em: 'EXITED',
      pxa: 'Pxa',
      embargo: {
        end: END,
        active: 'E1',
        proposals: [
          {
            id: 'E1',
            n: 1,
            end: END,
            proposer: REPORTER,
            kind: 'proposal',
            status: 'cancelled',
            uid: UID,
            sequence: 1,
            acceptedBy: [REPORTER, A, B],
            declinedBy: [],
            proposedAt: '2026-12-08T12:00:00Z',
            rsvpDeadline: '2026-12-15T12:00:00Z',
            counterTo: null,
            // The instant of its last status change (the termination), not of its acceptance.
            decidedAt: '2027-01-12T08:00:00Z',
          },
        ],
      },
      participants: [
        participant(COORD, {
          roles: ['coordinator'],
          vfd: null,
          joinedAt: '2026-12-07T09:12:00Z',
        }),
        participant(REPORTER, {
          name: 'Alice Finder',
          roles: ['reporter'],
          rm: 'ACCEPTED',
          vfd: null,
          joinedAt: '2026-12-07T09:12:00Z',
        }),
        participant(A, { rm: 'ACCEPTED', vfd: 'VFd', joinedAt: A_JOINED }),
        participant(B, { rm: 'ACCEPTED', vfd: 'Vfd', joinedAt: B_JOINED }),
      ],
      log: [
        log('2026-12-07T09:12:00Z', 'inbound', REPORTER, ['RS'], 'RS'),
        log('2026-12-07T09:12:00Z', 'transition', REPORTER, ['RS'], `New report: ${TITLE}`),
        log('2026-12-07T09:12:00Z', 'report', null, ['RS'], `report queued to ${COORD}`),
        log(A_JOINED, 'inbound', COORD, ['GI'], 'GI'),
        log(A_JOINED, 'membership', COORD, [], `${COORD} invited ${A} as vendor`),
        log(A_JOINED, 'report', null, ['RS'], `report queued to ${A}`),
        log(B_JOINED, 'inbound', COORD, ['GI'], 'GI'),
        log(B_JOINED, 'membership', COORD, [], `${COORD} invited ${B} as vendor`),
        log(B_JOINED, 'report', null, ['RS'], `report queued to ${B}`),
        log('2026-12-08T08:00:00Z', 'inbound', A, ['RA'], 'RA'),
        log('2026-12-08T08:00:00Z', 'transition', A, ['CV'], `${A} is aware of the report`),
        log('2026-12-08T08:00:00Z', 'forward-jump', A, ['RA'], 'RECEIVED → VALID → ACCEPTED'),
        log('2026-12-08T08:00:00Z', 'transition', A, ['RA'], `${A}: report accepted`),
        log('2026-12-08T09:00:00Z', 'inbound', B, ['RA'], 'RA'),
        log('2026-12-08T09:00:00Z', 'transition', B, ['CV'], `${B} is aware of the report`),
        log('2026-12-08T09:00:00Z', 'forward-jump', B, ['RA'], 'RECEIVED → VALID → ACCEPTED'),
        log('2026-12-08T09:00:00Z', 'transition', B, ['RA'], `${B}: report accepted`),
        log('2026-12-08T12:00:00Z', 'inbound', REPORTER, ['EP'], 'EP'),
        log('2026-12-08T12:00:00Z', 'transition', REPORTER, ['EP'], `E1 proposed: embargo until ${END}`),
        log('2026-12-09T08:00:00Z', 'inbound', A, ['EA'], 'EA'),
        log(
          '2026-12-09T08:00:00Z',
          'transition',
          A,
          ['EA'],
          `${A} accepted E1 (embargo until ${END}); 1 of 2`,
        ),
        log('2026-12-09T09:00:00Z', 'inbound', B, ['EA'], 'EA'),
        log(
          '2026-12-09T09:00:00Z',
          'transition',
          B,
          ['EA'],
          `${B} accepted E1 (embargo until ${END}); 2 of 2`,
        ),
        log(
          '2026-12-09T09:00:00Z',
          'transition',
          null,
          ['EA'],
          `E1 accepted: the embargo is in force until ${END}`,
        ),
        log('2027-01-05T08:00:00Z', 'inbound', A, ['CF'], 'CF'),
        log('2027-01-05T08:00:00Z', 'transition', A, ['CF'], `${A} has a fix ready`),
        log('2027-01-12T08:00:00Z', 'inbound', A, ['CP'], 'CP'),
        log(
          '2027-01-12T08:00:00Z',
          'transition',
          A,
          ['CP'],
          'The vulnerability is public: https://vendor-a.example/security/VA-2027-01',
        ),
        log(
          '2027-01-12T08:00:00Z',
          'transition',
          null,
          ['ET'],
          'The embargo was terminated: the vulnerability is public (https://vendor-a.example/security/VA-2027-01)',
        ),
        log('2027-01-21T00:00:00Z', 'timer', null, [], `vendor-response ${A}`),
        log('2027-01-21T00:00:00Z', 'timer', null, [], `vendor-response ${B}`),
      ],
      createdAt: '2026-12-07T09:12:00Z',
      domain: DOMAIN,
    });
  });

  it('a first report with /embargo; vendors invited into it get the report once they accept; the embargo ends by expiry (tick --now <end>)', async () => {
    const steps: Step[] = [
      {
        label: '1 the report with /embargo: EM NONE → ACTIVE at once',
        now: '2026-12-07T09:12:00Z',
        input: { fixture: '01-report.eml' },
        stdout: `$FILE: opened ${CASE} new case ${CASE}\n`,
        out: [
          ack(REPORTER, ['RK', 'EK', 'EA'], RE(TITLE), 'REQUEST/CONFIRMED'),
          note(COORD, ['RS', 'EP', 'EA'], REPORT, 'REQUEST/CONFIRMED'),
        ],
      },
      {
        label: '2 vendor A is invited into the embargo in force; the report is withheld',
        now: '2026-12-07T10:00:00Z',
        input: { fixture: '02-invite-vendor-a.eml' },
        stdout: `$FILE: applied ${CASE} GI\n`,
        out: [ack(COORD, ['GK'], RE('adding Vendor A')), note(A, ['EP'], IN_FORCE, 'REQUEST/CONFIRMED')],
      },
      {
        label: '3 vendor B likewise',
        now: '2026-12-07T10:05:00Z',
        input: { fixture: '03-invite-vendor-b.eml' },
        stdout: `$FILE: applied ${CASE} GI\n`,
        out: [ack(COORD, ['GK'], RE('adding Vendor B')), note(B, ['EP'], IN_FORCE, 'REQUEST/CONFIRMED')],
      },
      {
        label: '4 vendor A accepts the embargo in force: then it gets the report (B, withheld, gets nothing)',
        now: '2026-12-08T08:00:00Z',
        input: {
          reply: {
            ...VENDOR_A,
            messageId: '<a-1@vendor-a.example>',
            parent: { to: A, types: ['EP'] },
            body: '/embargo accept\n',
          },
        },
        stdout: `$FILE: applied ${CASE} EA\n`,
        out: [
          ack(A, ['EK'], RE('Embargo E1 in force until 2027-01-20 23:59:59 UTC')),
          note(COORD, ['EA'], ACCEPTANCE),
          note(REPORTER, ['EA'], ACCEPTANCE),
          reportTo(A),
        ],
      },
      {
        label: '5 vendor B accepts the embargo in force',
        now: '2026-12-08T09:00:00Z',
        input: {
          reply: {
            ...VENDOR_B,
            messageId: '<b-1@vendor-b.example>',
            parent: { to: B, types: ['EP'] },
            body: '/embargo accept\n',
          },
        },
        stdout: `$FILE: applied ${CASE} EA\n`,
        out: [
          ack(B, ['EK'], RE('Embargo E1 in force until 2027-01-20 23:59:59 UTC')),
          note(COORD, ['EA'], ACCEPTANCE),
          note(REPORTER, ['EA'], ACCEPTANCE),
          note(A, ['EA'], ACCEPTANCE),
          reportTo(B),
        ],
      },
      {
        label: '6 vendor A accepts the report',
        now: '2026-12-09T08:00:00Z',
        input: {
          reply: {
            ...VENDOR_A,
            messageId: '<a-2@vendor-a.example>',
            parent: { to: A, types: ['RS'] },
            body: '/accept\n',
          },
        },
        stdout: `$FILE: applied ${CASE} RA\n`,
        out: [
          ack(A, ['RK'], RE(`Report: ${TITLE}`)),
          note(COORD, ['CV', 'RA'], AWARE_ACCEPTED),
          note(REPORTER, ['CV', 'RA'], AWARE_ACCEPTED),
          note(B, ['CV', 'RA'], AWARE_ACCEPTED),
        ],
      },
      {
        label: '7 vendor B accepts the report',
        now: '2026-12-09T09:00:00Z',
        input: {
          reply: {
            ...VENDOR_B,
            messageId: '<b-2@vendor-b.example>',
            parent: { to: B, types: ['RS'] },
            body: '/accept\n',
          },
        },
        stdout: `$FILE: applied ${CASE} RA\n`,
        out: [
          ack(B, ['RK'], RE(`Report: ${TITLE}`)),
          note(COORD, ['CV', 'RA'], AWARE_ACCEPTED),
          note(REPORTER, ['CV', 'RA'], AWARE_ACCEPTED),
          note(A, ['CV', 'RA'], AWARE_ACCEPTED),
        ],
      },
      {
        label: '8 seven days before the end: a reminder to all (the vendor-response timers are stale)',
        now: '2027-01-13T23:59:59Z',
        input: { tick: true },
        stdout: 'fired 3 timers\nsent 4, failed 0\n',
        out: [
          note(COORD, ['GI'], REMINDER),
          note(REPORTER, ['GI'], REMINDER),
          note(A, ['GI'], REMINDER),
          note(B, ['GI'], REMINDER),
        ],
      },
      {
        label: '9 one day before the end: the second reminder',
        now: '2027-01-19T23:59:59Z',
        input: { tick: true },
        stdout: 'fired 1 timer\nsent 4, failed 0\n',
        out: [
          note(COORD, ['GI'], REMINDER),
          note(REPORTER, ['GI'], REMINDER),
          note(A, ['GI'], REMINDER),
          note(B, ['GI'], REMINDER),
        ],
      },
      {
        label: '10 one second before the end: nothing is due',
        now: '2027-01-20T23:59:58Z',
        input: { tick: true },
        stdout: 'fired 0 timers\nsent 0, failed 0\n',
        out: [],
      },
      {
        label: '11 at the end instant: EM → EXITED, a plain notice ["ET"] to all, no CANCEL',
        now: END,
        input: { tick: true },
        stdout: 'fired 1 timer\nsent 4, failed 0\n',
        out: [
          note(COORD, ['ET'], ENDED),
          note(REPORTER, ['ET'], ENDED),
          note(A, ['ET'], ENDED),
          note(B, ['ET'], ENDED),
        ],
      },
      {
        label: '12 later ticks find nothing',
        now: '2027-06-01T00:00:00Z',
        input: { tick: true },
        stdout: 'fired 0 timers\nsent 0, failed 0\n',
        out: [],
      },
    ];
    const { rows } = await play(s, steps, { caseId: CASE, domain: DOMAIN, root: ROOT, uid: UID });
    expect(rows).toHaveLength(35);
    expect(new Set(rows.map((r) => r.messageId)).size).toBe(rows.length);

    const A_JOINED = '2026-12-07T10:00:00Z';
    const B_JOINED = '2026-12-07T10:05:00Z';
    const REMIND = `Reminder: the embargo of ${CASE} ends ${END}.`;
    expect(await show()).toEqual({
      id: CASE,
      title: TITLE,
      em: 'EXITED',
      pxa: 'pxa',
      embargo: {
        end: END,
        active: 'E1',
        proposals: [
          {
            id: 'E1',
            n: 1,
            end: END,
            proposer: REPORTER,
            kind: 'proposal',
            // Expiry cancels nothing: the event simply passes.
            status: 'accepted',
            uid: UID,
            sequence: 0,
            // The newcomers' acceptance of the terms in force is recorded on the proposal too, so
            // it stays visible after the end (when consent returns to NO_EMBARGO).
            acceptedBy: [REPORTER, A, B],
            declinedBy: [],
            proposedAt: '2026-12-07T09:12:00Z',
            rsvpDeadline: '2026-12-14T09:12:00Z',
            counterTo: null,
            decidedAt: '2026-12-07T09:12:00Z',
          },
        ],
      },
      participants: [
        participant(COORD, { roles: ['coordinator'], vfd: null, joinedAt: '2026-12-07T09:12:00Z' }),
        participant(REPORTER, {
          name: 'Alice Finder',
          roles: ['reporter'],
          rm: 'ACCEPTED',
          vfd: null,
          joinedAt: '2026-12-07T09:12:00Z',
        }),
        participant(A, { rm: 'ACCEPTED', vfd: 'Vfd', joinedAt: A_JOINED }),
        participant(B, { rm: 'ACCEPTED', vfd: 'Vfd', joinedAt: B_JOINED }),
      ],
      log: [
        log('2026-12-07T09:12:00Z', 'inbound', REPORTER, ['RS', 'EP'], 'RS+EP'),
        log('2026-12-07T09:12:00Z', 'transition', REPORTER, ['RS'], `New report: ${TITLE}`),
        log('2026-12-07T09:12:00Z', 'report', null, ['RS'], `report queued to ${COORD}`),
        log('2026-12-07T09:12:00Z', 'transition', REPORTER, ['EP'], `E1 proposed: embargo until ${END}`),
        log(
          '2026-12-07T09:12:00Z',
          'transition',
          null,
          ['EA'],
          `E1 accepted: the embargo is in force until ${END}`,
        ),
        log(A_JOINED, 'inbound', COORD, ['GI'], 'GI'),
        log(A_JOINED, 'membership', COORD, [], `${COORD} invited ${A} as vendor`),
        log(
          A_JOINED,
          'withheld',
          null,
          [],
          `report withheld from ${A} until they accept the embargo in force`,
        ),
        log(B_JOINED, 'inbound', COORD, ['GI'], 'GI'),
        log(B_JOINED, 'membership', COORD, [], `${COORD} invited ${B} as vendor`),
        log(
          B_JOINED,
          'withheld',
          null,
          [],
          `report withheld from ${B} until they accept the embargo in force`,
        ),
        log('2026-12-08T08:00:00Z', 'inbound', A, ['EA'], 'EA'),
        log(
          '2026-12-08T08:00:00Z',
          'transition',
          A,
          ['EA'],
          `${A} accepted the embargo in force (until ${END})`,
        ),
        log('2026-12-08T08:00:00Z', 'report', null, ['RS'], `report queued to ${A}`),
        log('2026-12-08T09:00:00Z', 'inbound', B, ['EA'], 'EA'),
        log(
          '2026-12-08T09:00:00Z',
          'transition',
          B,
          ['EA'],
          `${B} accepted the embargo in force (until ${END})`,
        ),
        log('2026-12-08T09:00:00Z', 'report', null, ['RS'], `report queued to ${B}`),
        log('2026-12-09T08:00:00Z', 'inbound', A, ['RA'], 'RA'),
        log('2026-12-09T08:00:00Z', 'transition', A, ['CV'], `${A} is aware of the report`),
        log('2026-12-09T08:00:00Z', 'forward-jump', A, ['RA'], 'RECEIVED → VALID → ACCEPTED'),
        log('2026-12-09T08:00:00Z', 'transition', A, ['RA'], `${A}: report accepted`),
        log('2026-12-09T09:00:00Z', 'inbound', B, ['RA'], 'RA'),
        log('2026-12-09T09:00:00Z', 'transition', B, ['CV'], `${B} is aware of the report`),
        log('2026-12-09T09:00:00Z', 'forward-jump', B, ['RA'], 'RECEIVED → VALID → ACCEPTED'),
        log('2026-12-09T09:00:00Z', 'transition', B, ['RA'], `${B}: report accepted`),
        log('2027-01-13T23:59:59Z', 'timer', null, [], `vendor-response ${A}`),
        log('2027-01-13T23:59:59Z', 'timer', null, [], `vendor-response ${B}`),
        log('2027-01-13T23:59:59Z', 'timer', null, [], 'embargo-reminder E1'),
        log('2027-01-13T23:59:59Z', 'reminder', null, ['GI'], REMIND),
        log('2027-01-19T23:59:59Z', 'timer', null, [], 'embargo-reminder E1'),
        log('2027-01-19T23:59:59Z', 'reminder', null, ['GI'], REMIND),
        log(END, 'timer', null, [], 'embargo-expiry E1'),
        log(END, 'transition', null, ['ET'], `The embargo ended at ${END}`),
      ],
      createdAt: '2026-12-07T09:12:00Z',
      domain: DOMAIN,
    });
  });
});
