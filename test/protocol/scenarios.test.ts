/**
 * PROTOCOL.md §9 (all 36 scenarios) run against the case hub of DESIGN.md §2.
 *
 * §9 is written from one participant's point of view ("me"). In the hub the bot hosts the case,
 * so each row is adapted per DESIGN.md §2 "Precise rules": the given state is built by decide()
 * itself from newCase(), the incoming message is a mail from a participant (or a timer), and the
 * expectations are the bot's record of the participant the scenario is about, the global EM/pxa
 * and the exact outgoing mails. A row whose outcome differs from the §9 row says so in its name
 * ("hub: …"). Rows with no meaning for a hub are listed in NOT_APPLICABLE with the reason.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/protocol/decide.js';
import { DEFAULT_POLICY } from '../../src/protocol/policy.js';
import type { Policy } from '../../src/protocol/policy.js';
import { findParticipant, newCase } from '../../src/protocol/snapshot.js';
import type { CaseSnapshot, ProposalStatus } from '../../src/protocol/snapshot.js';
import type { Decision, Input, MailEffect, MailKind, Payload } from '../../src/protocol/types.js';
import type { EMState, MessageCode, PEC, PXA, RMState, Role, VFD } from '../../src/protocol/vocabulary.js';

// ---------------------------------------------------------------------------------------------
// The cast and the clock
// ---------------------------------------------------------------------------------------------

const CASE_ID = 'VM-2026-0001';
const DOMAIN = 'bot.example';
const NOW = '2026-06-01T12:00:00Z';
/** `/embargo 2026-07-01` etc.: 23:59:59Z of the day, all within policy.embargo.maxDays (90). */
const END30 = '2026-07-01T23:59:59Z';
const END60 = '2026-07-31T23:59:59Z';
const END80 = '2026-08-20T23:59:59Z';

const C = 'coord@cert.example'; // the configured coordinator (joins every case)
const R = 'finder@example.org'; // the reporter (opens the case)
const R2 = 'second@finder2.example'; // a second reporter
const V1 = 'psirt@vendor1.example';
const V2 = 'security@vendor2.example';

const uid = (n: number) => `${CASE_ID}-embargo-${n}@${DOMAIN}`;

const NO_TERMINATE: Partial<Policy> = { terminateOnAttacks: false };
const ATTACKS_PUBLIC: Partial<Policy> = { attacksImplyPublic: true };
const QUORUM_ANY: Partial<Policy> = { quorum: 'any' };

function policyOf(p: Partial<Policy> | undefined): Policy {
  return { ...DEFAULT_POLICY, ...p, embargo: { ...DEFAULT_POLICY.embargo, ...p?.embargo } };
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

const msg = (from: string, codes: MessageCode[], payload: Payload = {}): Input => ({
  kind: 'message',
  from,
  codes,
  payload,
});
/** A mail with no case reference: RS from a new reporter (DESIGN.md §2 "New report"). */
const newReport = (codes: MessageCode[] = ['RS'], payload: Payload = {}): Input => ({
  kind: 'report',
  from: { email: R, name: 'Fay Finder' },
  codes,
  payload,
});
/** `/invite <email> <role>` from the coordinator. */
const invite = (email: string, role: Role): Input => msg(C, [], { invite: { email, role } });
const bounceOfReport = (to: string): Input => ({
  kind: 'delivery-failure',
  to,
  permanent: true,
  types: ['RS'],
  detail: '550 5.1.1 no such user',
});
const expiryTimer = (ref: string, due: string): Input => ({
  kind: 'timer',
  timer: { id: 'embargo-expiry', kind: 'embargo-expiry', due, ref },
});

interface Step {
  input: Input;
  now?: string;
  policy?: Partial<Policy>;
}
type Given = ReadonlyArray<Input | Step>;
const withPolicy = (input: Input, policy: Partial<Policy>): Step => ({ input, policy });

/** Builds a given state through decide() itself, from newCase(); every step must be applied. */
function build(given: Given): CaseSnapshot {
  let s = newCase({
    id: CASE_ID,
    title: 'Heap overflow in the frobnicator',
    now: NOW,
    domain: DOMAIN,
    coordinators: [{ email: C, name: 'CERT' }],
  });
  for (const [i, g] of given.entries()) {
    const st: Step = 'input' in g ? g : { input: g };
    const d = decide(s, st.input, { now: st.now ?? NOW, policy: policyOf(st.policy) });
    if (!d.applied) throw new Error(`given step ${i} (${JSON.stringify(st.input)}) was not applied`);
    s = d.snapshot;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// The given states every row starts from
// ---------------------------------------------------------------------------------------------

/** A new report from R: the case is open, the coordinator has the report. */
const OPEN: Given = [newReport()];
/** V1 invited with no embargo: it gets the report at once (RECEIVED, still vfd). */
const WITH_V1: Given = [...OPEN, invite(V1, 'vendor')];
/** V1's first mail (RV): aware (Vfd) and VALID. */
const V1_AWARE: Given = [...WITH_V1, msg(V1, ['RV'])];
/** R proposes E1 (END30); V1 is the one quorum member: PROPOSED. */
const PROPOSED: Given = [...V1_AWARE, msg(R, ['EP'], { embargoEnd: END30 })];
/** V1 accepts: E1 in force. */
const ACTIVE: Given = [...PROPOSED, msg(V1, ['EA'])];
/** R proposes the revision E2 (END60): REVISE. */
const REVISE: Given = [...ACTIVE, msg(R, ['EV'], { embargoEnd: END60 })];
/** First report with /embargo (active at once), then V1 invited (withheld) and accepting: V1 RECEIVED, vfd. */
const ACTIVE_V1_UNAWARE: Given = [
  newReport(['RS', 'EP'], { embargoEnd: END30 }),
  invite(V1, 'vendor'),
  msg(V1, ['EA']),
];
/** V1 fix ready, deployed, then public (EXITED), then V1 closes: (C, X, VFDPxa). */
const V1_CLOSED: Given = [...ACTIVE, msg(V1, ['CF']), msg(V1, ['CD']), msg(V1, ['CP']), msg(V1, ['RC'])];

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

/** [kind, to, types, calendar as "METHOD STATUS proposal" or null] */
type Mail = readonly [MailKind, string, readonly MessageCode[], string | null];

interface Rec {
  rm: RMState;
  vfd: VFD | null;
  consent?: PEC;
  embargoAdherence?: boolean;
}

interface Row {
  id: number;
  name: string;
  given: Given;
  /** Only to test defensive behaviour on a state decide() cannot reach (said so in the name). */
  patch?: (s: CaseSnapshot) => void;
  input: Input;
  now?: string;
  policy?: Partial<Policy>;
  expect: {
    applied?: boolean;
    em: EMState;
    pxa: PXA;
    end: string | null;
    /** Every proposal of the case, as "E<n> <kind> <status>". */
    proposals: string[];
    /** The bot's record of the sender (always) and of others the scenario is about. */
    who: Record<string, Rec>;
    mails: Mail[];
    /** Catalogue codes of the error mails, in order. */
    errors?: string[];
  };
  /** Further checks (calendar PARTSTAT, log entries, timers). */
  check?: (d: Decision, before: CaseSnapshot) => void;
}

const proposalsOf = (s: CaseSnapshot) =>
  s.embargo.proposals.map((p) => `${p.id} ${p.kind} ${p.status satisfies ProposalStatus}`);

function mailTuple(m: MailEffect): Mail {
  const cal = m.calendar ? `${m.calendar.method} ${m.calendar.status} ${m.calendar.proposal}` : null;
  return [m.kind, m.to, m.types, cal];
}
const mailKey = (m: Mail) => `${m[1]}|${m[0]}|${m[2].join(',')}|${m[3] ?? ''}`;
const sortMails = (mails: readonly Mail[]) => [...mails].sort((a, b) => mailKey(a).localeCompare(mailKey(b)));
const mailsOf = (d: Decision) => d.effects.filter((e): e is MailEffect => e.type === 'mail');

function calendarTo(d: Decision, to: string): MailEffect['calendar'] {
  const m = mailsOf(d).find((x) => x.to === to && x.calendar !== null);
  if (!m) throw new Error(`no calendar object to ${to}`);
  return m.calendar;
}
const logKinds = (d: Decision) => d.log.map((l) => l.kind);

const RM_S = (code: 'RA' | 'RV' | 'RD' | 'RI' | 'RC' | 'RS'): Row => ({
  id: 5,
  name: `hub: ${code} from a participant in RM START (invited under an active embargo, report withheld) → RE+GI, nothing changes (an unknown case is the mail layer's: it opens a case or quarantines)`,
  given: [...ACTIVE, invite(V2, 'vendor')],
  input: msg(V2, [code]),
  expect: {
    em: 'ACTIVE',
    pxa: 'pxa',
    end: END30,
    proposals: ['E1 proposal accepted'],
    who: { [V2]: { rm: 'START', vfd: 'vfd', consent: 'INVITED' } },
    mails: [['error', V2, ['RE', 'GI'], null]],
    errors: [code === 'RS' ? 'report-needs-report' : 'report-unknown'],
  },
});

const ACK_ONLY = (code: 'EK' | 'RK' | 'CK' | 'GK'): Row => ({
  id: 22,
  name: `${code} → nothing (never acknowledge an acknowledgement)`,
  given: ACTIVE,
  input: msg(V1, [code]),
  expect: {
    em: 'ACTIVE',
    pxa: 'pxa',
    end: END30,
    proposals: ['E1 proposal accepted'],
    who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' } },
    mails: [],
  },
  check: (d) => expect(logKinds(d)).toEqual(['inbound']),
});

const CLOSED_IGNORES = (code: 'CP' | 'EP' | 'RS', payload: Payload = {}): Row => ({
  id: 30,
  name: `hub: ${code} from a participant whose report is Closed → logged and ignored (applied=false), no reply`,
  given: V1_CLOSED,
  input: msg(V1, [code], payload),
  expect: {
    applied: false,
    em: 'EXITED',
    pxa: 'Pxa',
    end: END30,
    proposals: ['E1 proposal cancelled'],
    who: { [V1]: { rm: 'CLOSED', vfd: 'VFD', consent: 'NO_EMBARGO' } },
    mails: [],
  },
  check: (d, before) => {
    expect(d.effects).toEqual([]);
    expect(d.log.map((l) => [l.kind, l.from, l.types])).toEqual([['ignored', V1, [code]]]);
    expect(d.snapshot).toEqual({ ...before, log: [...before.log, ...d.log] });
  },
});

const ROWS: Row[] = [
  {
    id: 1,
    name: 'hub: RS reaches the vendor when the coordinator invites it (no embargo: at once) → RECEIVED but still vfd (aware only on its first mail)',
    given: OPEN,
    input: invite(V1, 'vendor'),
    expect: {
      em: 'NONE',
      pxa: 'pxa',
      end: null,
      proposals: [],
      who: {
        [C]: { rm: 'RECEIVED', vfd: null },
        [V1]: { rm: 'RECEIVED', vfd: 'vfd', consent: 'NO_EMBARGO' },
      },
      mails: [
        ['ack', C, ['GK'], null],
        ['report', V1, ['RS'], null],
      ],
    },
    check: (d) =>
      expect(d.effects.filter((e) => e.type === 'timer-set')).toEqual([
        {
          type: 'timer-set',
          timer: {
            id: `vendor-response:${V1}`,
            kind: 'vendor-response',
            due: '2026-06-08T12:00:00Z',
            ref: V1,
          },
        },
      ]),
  },
  {
    id: 1,
    name: "hub: the vendor's first mail after the report (its RK) makes it aware → Vfd, CV to all, nothing back (no ACK of an ACK)",
    given: WITH_V1,
    input: msg(V1, ['RK']),
    expect: {
      em: 'NONE',
      pxa: 'pxa',
      end: null,
      proposals: [],
      who: { [V1]: { rm: 'RECEIVED', vfd: 'Vfd', consent: 'NO_EMBARGO' } },
      mails: [
        ['notification', C, ['CV'], null],
        ['notification', R, ['CV'], null],
      ],
    },
  },
  {
    id: 2,
    name: "hub: a first report with /embargo (RS+EP) is active at once (NONE → ACTIVE, not P): one mail RK+EK+EA with the CONFIRMED REQUEST, the reporter's PARTSTAT ACCEPTED",
    given: [],
    input: newReport(['RS', 'EP'], { embargoEnd: END30 }),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: {
        [R]: { rm: 'ACCEPTED', vfd: null, consent: 'SIGNATORY' },
        [C]: { rm: 'RECEIVED', vfd: null, consent: 'SIGNATORY' },
      },
      mails: [
        ['ack', R, ['RK', 'EK', 'EA'], 'REQUEST CONFIRMED E1'],
        ['report', C, ['RS', 'EP', 'EA'], 'REQUEST CONFIRMED E1'],
      ],
    },
    check: (d) => {
      expect(calendarTo(d, R)).toEqual({
        method: 'REQUEST',
        proposal: 'E1',
        uid: uid(1),
        sequence: 0,
        status: 'CONFIRMED',
        end: END30,
        attendee: R,
        partstat: 'ACCEPTED',
        proposer: R,
        code: 'EA',
      });
      expect(d.snapshot.embargo.active).toBe('E1');
    },
  },
  {
    id: 2,
    name: 'hub: EP once a vendor holds the report → PROPOSED, EK to the proposer, the vendor gets EP with a TENTATIVE REQUEST (EK is not acceptance)',
    given: V1_AWARE,
    input: msg(R, ['EP'], { embargoEnd: END30 }),
    expect: {
      em: 'PROPOSED',
      pxa: 'pxa',
      end: null,
      proposals: ['E1 proposal pending'],
      who: {
        [R]: { rm: 'ACCEPTED', vfd: null, consent: 'NO_EMBARGO' },
        [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'NO_EMBARGO' },
      },
      mails: [
        ['ack', R, ['EK'], null],
        ['notification', C, ['EP'], 'REQUEST TENTATIVE E1'],
        ['notification', V1, ['EP'], 'REQUEST TENTATIVE E1'],
      ],
    },
    check: (d) => {
      expect(calendarTo(d, V1)?.partstat).toBe('NEEDS-ACTION');
      expect(d.snapshot.embargo.proposals[0]?.acceptedBy).toEqual([R]);
    },
  },
  {
    id: 4,
    name: "hub: a duplicate RS from a second reporter is relayed as RS; the vendor's record is unchanged (VALID, Vfd: not Invalid, no CV as it is already aware)",
    given: [...V1_AWARE, invite(R2, 'reporter')],
    input: msg(R2, ['RS']),
    expect: {
      em: 'NONE',
      pxa: 'pxa',
      end: null,
      proposals: [],
      who: { [R2]: { rm: 'RECEIVED', vfd: null }, [V1]: { rm: 'VALID', vfd: 'Vfd' } },
      mails: [
        ['ack', R2, ['RK'], null],
        ['report', C, ['RS'], null],
        ['report', R, ['RS'], null],
        ['report', V1, ['RS'], null],
      ],
    },
  },
  RM_S('RA'),
  RM_S('RV'),
  RM_S('RD'),
  RM_S('RI'),
  RM_S('RC'),
  RM_S('RS'),
  {
    id: 6,
    name: 'hub: EP from a participant without the report (its report bounced: RM START) is not an error → PROPOSED, EK',
    given: [...WITH_V1, bounceOfReport(V1)],
    input: msg(V1, ['EP'], { embargoEnd: END30 }),
    expect: {
      em: 'PROPOSED',
      pxa: 'pxa',
      end: null,
      proposals: ['E1 proposal pending'],
      who: { [V1]: { rm: 'START', vfd: 'vfd', consent: 'NO_EMBARGO' } },
      mails: [
        ['ack', V1, ['EK'], null],
        ['notification', C, ['EP'], 'REQUEST TENTATIVE E1'],
        ['notification', R, ['EP'], 'REQUEST TENTATIVE E1'],
      ],
    },
  },
  {
    id: 8,
    name: "hub: the vendor's EA completes the quorum → ACTIVE with the proposed terms from now; EK+EA back (the activation is the bot's), CONFIRMED REQUEST to all",
    given: PROPOSED,
    input: msg(V1, ['EA']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: {
        [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' },
        [R]: { rm: 'ACCEPTED', vfd: null, consent: 'SIGNATORY' },
      },
      mails: [
        ['ack', V1, ['EK', 'EA'], 'REQUEST CONFIRMED E1'],
        ['notification', C, ['EA'], 'REQUEST CONFIRMED E1'],
        ['notification', R, ['EA'], 'REQUEST CONFIRMED E1'],
      ],
    },
    check: (d) => {
      const e1 = d.snapshot.embargo.proposals[0];
      expect([e1?.decidedAt, e1?.acceptedBy]).toEqual([NOW, [R, V1]]);
      expect(calendarTo(d, V1)?.partstat).toBe('ACCEPTED');
      expect(
        d.effects.filter((e) => e.type === 'timer-set').map((e) => e.type === 'timer-set' && e.timer),
      ).toEqual([
        { id: 'embargo-expiry', kind: 'embargo-expiry', due: END30, ref: 'E1' },
        { id: 'embargo-reminder:7', kind: 'embargo-reminder', due: '2026-06-24T23:59:59Z', ref: 'E1' },
        { id: 'embargo-reminder:1', kind: 'embargo-reminder', due: '2026-06-30T23:59:59Z', ref: 'E1' },
      ]);
    },
  },
  {
    id: 9,
    name: 'EA when no proposal ever existed → EE (+GI), nothing changes',
    given: OPEN,
    input: msg(R, ['EA']),
    expect: {
      em: 'NONE',
      pxa: 'pxa',
      end: null,
      proposals: [],
      who: { [R]: { rm: 'ACCEPTED', vfd: null, consent: 'NO_EMBARGO' } },
      mails: [['error', R, ['EE', 'GI'], null]],
      errors: ['embargo-no-proposal'],
    },
  },
  {
    id: 10,
    name: 'ER from the proposer (withdrawal) → NONE; EK back, ER with a CANCEL to the others (hub: the proposer also gets a CANCEL of its own proposal)',
    given: PROPOSED,
    input: msg(R, ['ER']),
    expect: {
      em: 'NONE',
      pxa: 'pxa',
      end: null,
      proposals: ['E1 proposal rejected'],
      who: { [R]: { rm: 'ACCEPTED', vfd: null, consent: 'NO_EMBARGO' }, [V1]: { rm: 'VALID', vfd: 'Vfd' } },
      mails: [
        ['ack', R, ['EK'], null],
        ['invitation', R, ['ER'], 'CANCEL CANCELLED E1'],
        ['notification', C, ['ER'], 'CANCEL CANCELLED E1'],
        ['notification', V1, ['ER'], 'CANCEL CANCELLED E1'],
      ],
    },
    check: (d) => expect(calendarTo(d, V1)?.sequence).toBe(1),
  },
  {
    id: 11,
    name: 'EV with a later end → REVISE, the old terms stay in force; EK, EV with a TENTATIVE REQUEST (new UID) to the others',
    given: ACTIVE,
    input: msg(R, ['EV'], { embargoEnd: END60 }),
    expect: {
      em: 'REVISE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted', 'E2 revision pending'],
      who: {
        [R]: { rm: 'ACCEPTED', vfd: null, consent: 'SIGNATORY' },
        [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' },
      },
      mails: [
        ['ack', R, ['EK'], null],
        ['notification', C, ['EV'], 'REQUEST TENTATIVE E2'],
        ['notification', V1, ['EV'], 'REQUEST TENTATIVE E2'],
      ],
    },
    check: (d) => expect(calendarTo(d, V1)?.uid).toBe(uid(2)),
  },
  {
    id: 12,
    name: "EC for the pending revision → ACTIVE with the revised end; EK+EC back; CONFIRMED REQUEST of the revision's UID and CANCEL of the old UID to every attendee",
    given: REVISE,
    input: msg(V1, ['EC']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END60,
      proposals: ['E1 proposal superseded', 'E2 revision accepted'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', V1, ['EK', 'EC'], 'REQUEST CONFIRMED E2'],
        ['invitation', V1, ['EC'], 'CANCEL CANCELLED E1'],
        ['notification', C, ['EC'], 'REQUEST CONFIRMED E2'],
        ['invitation', C, ['EC'], 'CANCEL CANCELLED E1'],
        ['notification', R, ['EC'], 'REQUEST CONFIRMED E2'],
        ['invitation', R, ['EC'], 'CANCEL CANCELLED E1'],
      ],
    },
    check: (d) => expect(d.snapshot.embargo.active).toBe('E2'),
  },
  {
    id: 13,
    name: 'EJ → ACTIVE, the old end kept; EK back; CANCEL of the revision UID only',
    given: REVISE,
    input: msg(V1, ['EJ']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted', 'E2 revision rejected'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', V1, ['EK'], null],
        ['invitation', V1, ['EJ'], 'CANCEL CANCELLED E2'],
        ['notification', C, ['EJ'], 'CANCEL CANCELLED E2'],
        ['notification', R, ['EJ'], 'CANCEL CANCELLED E2'],
      ],
    },
  },
  {
    id: 14,
    name: 'EP (instead of EV) while ACTIVE → EE (+GI): use EV to revise',
    given: ACTIVE,
    input: msg(V1, ['EP'], { embargoEnd: END60 }),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' } },
      mails: [['error', V1, ['EE', 'GI'], null]],
      errors: ['embargo-use-revision'],
    },
  },
  {
    id: 15,
    name: 'EP while the case is public → stays NONE; ER (non-viable: no new embargo)',
    given: [...V1_AWARE, msg(V1, ['CP'])],
    input: msg(R, ['EP'], { embargoEnd: END30 }),
    expect: {
      em: 'NONE',
      pxa: 'Pxa',
      end: null,
      proposals: [],
      who: { [R]: { rm: 'ACCEPTED', vfd: null, consent: 'NO_EMBARGO' } },
      mails: [['error', R, ['ER'], null]],
      errors: ['embargo-not-viable'],
    },
  },
  {
    id: 16,
    name: 'CP while PROPOSED → NONE, pxa P; CK+ER back, CP+ER with a CANCEL to all',
    given: PROPOSED,
    input: msg(V1, ['CP']),
    expect: {
      em: 'NONE',
      pxa: 'Pxa',
      end: null,
      proposals: ['E1 proposal rejected'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'NO_EMBARGO' } },
      mails: [
        ['ack', V1, ['CK', 'ER'], 'CANCEL CANCELLED E1'],
        ['notification', C, ['CP', 'ER'], 'CANCEL CANCELLED E1'],
        ['notification', R, ['CP', 'ER'], 'CANCEL CANCELLED E1'],
      ],
    },
  },
  {
    id: 17,
    name: 'CP while ACTIVE → EXITED (SHALL terminate), pxa P; CK+ET back, CP+ET with a CANCEL to all',
    given: ACTIVE,
    input: msg(V1, ['CP']),
    expect: {
      em: 'EXITED',
      pxa: 'Pxa',
      end: END30,
      proposals: ['E1 proposal cancelled'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'NO_EMBARGO' } },
      mails: [
        ['ack', V1, ['CK', 'ET'], 'CANCEL CANCELLED E1'],
        ['notification', C, ['CP', 'ET'], 'CANCEL CANCELLED E1'],
        ['notification', R, ['CP', 'ET'], 'CANCEL CANCELLED E1'],
      ],
    },
  },
  {
    id: 18,
    name: 'CX while REVISE → EXITED with both X and P; CK+CP+ET back, CX+CP+ET to all; the pending revision is cancelled too',
    given: REVISE,
    input: msg(V1, ['CX']),
    expect: {
      em: 'EXITED',
      pxa: 'PXa',
      end: END30,
      proposals: ['E1 proposal cancelled', 'E2 revision cancelled'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'NO_EMBARGO' } },
      mails: [
        ['ack', V1, ['CK', 'CP', 'ET'], 'CANCEL CANCELLED E1'],
        ['invitation', V1, ['ET'], 'CANCEL CANCELLED E2'],
        ['notification', C, ['CX', 'CP', 'ET'], 'CANCEL CANCELLED E1'],
        ['invitation', C, ['ET'], 'CANCEL CANCELLED E2'],
        ['notification', R, ['CX', 'CP', 'ET'], 'CANCEL CANCELLED E1'],
        ['invitation', R, ['ET'], 'CANCEL CANCELLED E2'],
      ],
    },
  },
  {
    id: 19,
    name: 'CA while ACTIVE (defaults: attacks do not imply P, terminateOnAttacks) → EXITED, pxa pxA; CK+ET back, CA+ET to all',
    given: ACTIVE,
    input: msg(V1, ['CA']),
    expect: {
      em: 'EXITED',
      pxa: 'pxA',
      end: END30,
      proposals: ['E1 proposal cancelled'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'NO_EMBARGO' } },
      mails: [
        ['ack', V1, ['CK', 'ET'], 'CANCEL CANCELLED E1'],
        ['notification', C, ['CA', 'ET'], 'CANCEL CANCELLED E1'],
        ['notification', R, ['CA', 'ET'], 'CANCEL CANCELLED E1'],
      ],
    },
  },
  {
    id: 19,
    name: 'CA while ACTIVE with policy.terminateOnAttacks=false → stays ACTIVE, pxa pxA; CK, CA to all',
    given: ACTIVE,
    input: msg(V1, ['CA']),
    policy: NO_TERMINATE,
    expect: {
      em: 'ACTIVE',
      pxa: 'pxA',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', V1, ['CK'], null],
        ['notification', C, ['CA'], null],
        ['notification', R, ['CA'], null],
      ],
    },
  },
  {
    id: 19,
    name: 'CA while ACTIVE with policy.attacksImplyPublic=true (the literal table reading) → EXITED, pxa PxA; CK+CP+ET back',
    given: ACTIVE,
    input: msg(V1, ['CA']),
    policy: ATTACKS_PUBLIC,
    expect: {
      em: 'EXITED',
      pxa: 'PxA',
      end: END30,
      proposals: ['E1 proposal cancelled'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'NO_EMBARGO' } },
      mails: [
        ['ack', V1, ['CK', 'CP', 'ET'], 'CANCEL CANCELLED E1'],
        ['notification', C, ['CA', 'CP', 'ET'], 'CANCEL CANCELLED E1'],
        ['notification', R, ['CA', 'CP', 'ET'], 'CANCEL CANCELLED E1'],
      ],
    },
  },
  {
    id: 20,
    name: 'hub: an active embargo inconsistent with the CS arises only from a policy change (attacks under terminateOnAttacks=false, then true); EV → EXITED, EK+ET back (the §9 row sends ET alone)',
    given: [...ACTIVE, withPolicy(msg(V1, ['CA']), NO_TERMINATE)],
    input: msg(R, ['EV'], { embargoEnd: END60 }),
    expect: {
      em: 'EXITED',
      pxa: 'pxA',
      end: END30,
      proposals: ['E1 proposal cancelled'],
      who: { [R]: { rm: 'ACCEPTED', vfd: null, consent: 'NO_EMBARGO' } },
      mails: [
        ['ack', R, ['EK', 'ET'], 'CANCEL CANCELLED E1'],
        ['notification', C, ['ET'], 'CANCEL CANCELLED E1'],
        ['notification', V1, ['ET'], 'CANCEL CANCELLED E1'],
      ],
    },
  },
  {
    id: 20,
    name: 'hub (defensive, hand-patched snapshot): ACTIVE yet public after a missed CP cannot arise in the hub, which holds the only copy; EV on it → EXITED, EK+ET back',
    given: ACTIVE,
    patch: (s) => {
      s.pxa = 'Pxa';
    },
    input: msg(R, ['EV'], { embargoEnd: END60 }),
    expect: {
      em: 'EXITED',
      pxa: 'Pxa',
      end: END30,
      proposals: ['E1 proposal cancelled'],
      who: { [R]: { rm: 'ACCEPTED', vfd: null, consent: 'NO_EMBARGO' } },
      mails: [
        ['ack', R, ['EK', 'ET'], 'CANCEL CANCELLED E1'],
        ['notification', C, ['ET'], 'CANCEL CANCELLED E1'],
        ['notification', V1, ['ET'], 'CANCEL CANCELLED E1'],
      ],
    },
  },
  {
    id: 21,
    name: 'duplicate ET in EXITED → EK (idempotent), nothing changes',
    given: [...ACTIVE, msg(V1, ['CP'])],
    input: msg(R, ['ET'], { reason: 'published' }),
    expect: {
      em: 'EXITED',
      pxa: 'Pxa',
      end: END30,
      proposals: ['E1 proposal cancelled'],
      who: { [R]: { rm: 'ACCEPTED', vfd: null, consent: 'NO_EMBARGO' } },
      mails: [['ack', R, ['EK'], null]],
    },
  },
  ACK_ONLY('EK'),
  ACK_ONLY('RK'),
  ACK_ONLY('CK'),
  ACK_ONLY('GK'),
  {
    id: 23,
    name: 'EE → EK+GI',
    given: ACTIVE,
    input: msg(R, ['EE']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [R]: { rm: 'ACCEPTED', vfd: null, consent: 'SIGNATORY' } },
      mails: [['ack', R, ['EK', 'GI'], null]],
    },
  },
  {
    id: 24,
    name: 'CF from the reporter (no vendor role) claiming its own fix → CE+GI',
    given: ACTIVE,
    input: msg(R, ['CF']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [R]: { rm: 'ACCEPTED', vfd: null }, [V1]: { rm: 'VALID', vfd: 'Vfd' } },
      mails: [['error', R, ['CE', 'GI'], null]],
      errors: ['cs-not-vendor'],
    },
  },
  {
    id: 24,
    name: 'hub: CF from the reporter naming a vendor → CE+GI: only coordinators relay CF/CD for a named vendor',
    given: ACTIVE,
    input: msg(R, ['CF'], { vendor: V1 }),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [R]: { rm: 'ACCEPTED', vfd: null }, [V1]: { rm: 'VALID', vfd: 'Vfd' } },
      mails: [['error', R, ['CE', 'GI'], null]],
      errors: ['cs-relay-not-allowed'],
    },
  },
  {
    id: 24,
    name: "hub: CF relayed by the coordinator for a named vendor → that vendor's record VFd (its RM untouched); CK back, CF to the others",
    given: ACTIVE,
    input: msg(C, ['CF'], { vendor: V1 }),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [C]: { rm: 'RECEIVED', vfd: null }, [V1]: { rm: 'VALID', vfd: 'VFd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', C, ['CK'], null],
        ['notification', R, ['CF'], null],
        ['notification', V1, ['CF'], null],
      ],
    },
  },
  {
    id: 25,
    name: 'RE → RK+GI',
    given: [...WITH_V1, msg(V1, ['RK'])],
    input: msg(V1, ['RE']),
    expect: {
      em: 'NONE',
      pxa: 'pxa',
      end: null,
      proposals: [],
      who: { [V1]: { rm: 'RECEIVED', vfd: 'Vfd' } },
      mails: [['ack', V1, ['RK', 'GI'], null]],
    },
  },
  {
    id: 26,
    name: 'ET with no embargo → EE (+GI): nothing to terminate',
    given: OPEN,
    input: msg(R, ['ET']),
    expect: {
      em: 'NONE',
      pxa: 'pxa',
      end: null,
      proposals: [],
      who: { [R]: { rm: 'ACCEPTED', vfd: null } },
      mails: [['error', R, ['EE', 'GI'], null]],
      errors: ['embargo-nothing-to-terminate'],
    },
  },
  {
    id: 27,
    name: "GI → GK (hub: the GI is relayed to the other engaged participants with the sender's text)",
    given: V1_AWARE,
    input: msg(R, ['GI'], { text: 'Is a CVE ID assigned yet?' }),
    expect: {
      em: 'NONE',
      pxa: 'pxa',
      end: null,
      proposals: [],
      who: { [R]: { rm: 'ACCEPTED', vfd: null } },
      mails: [
        ['ack', R, ['GK'], null],
        ['notification', C, ['GI'], null],
        ['notification', V1, ['GI'], null],
      ],
    },
    check: (d) =>
      expect(mailsOf(d).map((m) => m.data.note)).toEqual([
        'Is a CVE ID assigned yet?',
        'Is a CVE ID assigned yet?',
        'Is a CVE ID assigned yet?',
      ]),
  },
  {
    id: 27,
    name: 'GE → GK+GI',
    given: V1_AWARE,
    input: msg(R, ['GE']),
    expect: {
      em: 'NONE',
      pxa: 'pxa',
      end: null,
      proposals: [],
      who: { [R]: { rm: 'ACCEPTED', vfd: null } },
      mails: [['ack', R, ['GK', 'GI'], null]],
    },
  },
  {
    id: 28,
    name: 'CF from the vendor tracked Vfd → VFd (hub: a fix also moves its RM to ACCEPTED); CK back, CF relayed to the reporter and coordinator',
    given: ACTIVE,
    input: msg(V1, ['CF']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'ACCEPTED', vfd: 'VFd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', V1, ['CK'], null],
        ['notification', C, ['CF'], null],
        ['notification', R, ['CF'], null],
      ],
    },
  },
  {
    id: 29,
    name: "hub: CF as the vendor's first mail after the report (tracked vfd) → its awareness (CV) and the fix (CF) are both recorded, VFd; CK",
    given: ACTIVE_V1_UNAWARE,
    input: msg(V1, ['CF']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'ACCEPTED', vfd: 'VFd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', V1, ['CK'], null],
        ['notification', C, ['CV', 'CF'], null],
        ['notification', R, ['CV', 'CF'], null],
      ],
    },
    check: (d) =>
      expect(d.log.filter((l) => l.kind === 'forward-jump').map((l) => l.detail)).toEqual([
        'RECEIVED → ACCEPTED (a fix implies an accepted report)',
      ]),
  },
  {
    id: 29,
    name: 'hub: the coordinator relays CF for a vendor still tracked vfd → V inferred (forward jump vfd → VFd, logged); CK',
    given: ACTIVE_V1_UNAWARE,
    input: msg(C, ['CF'], { vendor: V1 }),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [C]: { rm: 'RECEIVED', vfd: null }, [V1]: { rm: 'RECEIVED', vfd: 'VFd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', C, ['CK'], null],
        ['notification', R, ['CF'], null],
        ['notification', V1, ['CF'], null],
      ],
    },
    check: (d) =>
      expect(d.log.filter((l) => l.kind === 'forward-jump').map((l) => l.detail)).toEqual([
        `${V1}: vfd → VFd`,
      ]),
  },
  CLOSED_IGNORES('CP'),
  CLOSED_IGNORES('EP', { embargoEnd: END60 }),
  CLOSED_IGNORES('RS'),
  {
    id: 31,
    name: 'the expiry timer reaches the end → EXITED; an expiry notice (ET) to all, no iTIP CANCEL (the event simply passes)',
    given: [...ACTIVE, msg(V1, ['CF'])],
    input: expiryTimer('E1', END30),
    now: END30,
    expect: {
      em: 'EXITED',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'ACCEPTED', vfd: 'VFd', consent: 'NO_EMBARGO' } },
      mails: [
        ['expiry', C, ['ET'], null],
        ['expiry', R, ['ET'], null],
        ['expiry', V1, ['ET'], null],
      ],
    },
    check: (d) =>
      expect(d.effects.filter((e) => e.type !== 'mail')).toEqual([
        { type: 'timer-clear', id: 'embargo-expiry' },
        { type: 'timer-clear', id: 'embargo-reminder:7' },
        { type: 'timer-clear', id: 'embargo-reminder:1' },
      ]),
  },
  {
    id: 33,
    name: 'hub: RC under an active embargo without an adherence statement → refused (RE+GI), RM unchanged',
    given: ACTIVE,
    input: msg(V1, ['RC']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY', embargoAdherence: true } },
      mails: [['error', V1, ['RE', 'GI'], null]],
      errors: ['close-needs-adherence'],
    },
  },
  {
    id: 33,
    name: '"/close adhere" under an active embargo → CLOSED, adherence recorded; RK back, RC to all; EM stays ACTIVE',
    given: ACTIVE,
    input: msg(V1, ['RC'], { adherence: 'adhere' }),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'CLOSED', vfd: 'Vfd', consent: 'SIGNATORY', embargoAdherence: true } },
      mails: [
        ['ack', V1, ['RK'], null],
        ['notification', C, ['RC'], null],
        ['notification', R, ['RC'], null],
      ],
    },
  },
  {
    id: 33,
    name: 'hub: "/close no-adhere" → CLOSED, the coordinators are alerted, nothing ends: EM stays ACTIVE',
    given: ACTIVE,
    input: msg(V1, ['RC'], { adherence: 'no-adhere' }),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'CLOSED', vfd: 'Vfd', consent: 'SIGNATORY', embargoAdherence: false } },
      mails: [
        ['ack', V1, ['RK'], null],
        ['alert', C, ['GI'], null],
        ['notification', C, ['RC'], null],
        ['notification', R, ['RC'], null],
      ],
    },
  },
  {
    id: 34,
    name: '/invite while ACTIVE → the newcomer INVITED, only the existing embargo (EP, REQUEST of the active UID) to it; the report withheld',
    given: ACTIVE,
    input: invite(V2, 'vendor'),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [C]: { rm: 'RECEIVED', vfd: null }, [V2]: { rm: 'START', vfd: 'vfd', consent: 'INVITED' } },
      mails: [
        ['ack', C, ['GK'], null],
        ['invitation', V2, ['EP'], 'REQUEST CONFIRMED E1'],
      ],
    },
    check: (d) => {
      expect(calendarTo(d, V2)).toMatchObject({ uid: uid(1), attendee: V2, partstat: 'NEEDS-ACTION' });
      expect(findParticipant(d.snapshot, V2)?.reportSent).toBe(false);
    },
  },
  {
    id: 34,
    name: "the newcomer's EA → SIGNATORY and now the report (hub: RECEIVED but still vfd until its next mail); EA to the others",
    given: [...ACTIVE, invite(V2, 'vendor')],
    input: msg(V2, ['EA'], { calendar: { method: 'REPLY', uid: uid(1) } }),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V2]: { rm: 'RECEIVED', vfd: 'vfd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', V2, ['EK'], null],
        ['report', V2, ['RS'], null],
        ['notification', C, ['EA'], null],
        ['notification', R, ['EA'], null],
        ['notification', V1, ['EA'], null],
      ],
    },
  },
  {
    id: 34,
    name: 'hub: the newcomer declines → DECLINED, the report stays withheld, only the coordinators are told',
    given: [...ACTIVE, invite(V2, 'vendor')],
    input: msg(V2, ['ER']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V2]: { rm: 'START', vfd: 'vfd', consent: 'DECLINED' } },
      mails: [
        ['ack', V2, ['EK'], null],
        ['notification', C, ['ER'], null],
      ],
    },
  },
  {
    id: 34,
    name: 'hub: a newcomer who declined and then accepts the terms still in force is honoured (PROTOCOL.md §2.9) → SIGNATORY, then the report',
    given: [...ACTIVE, invite(V2, 'vendor'), msg(V2, ['ER'])],
    input: msg(V2, ['EA']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V2]: { rm: 'RECEIVED', vfd: 'vfd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', V2, ['EK'], null],
        ['report', V2, ['RS'], null],
        ['notification', C, ['EA'], null],
        ['notification', R, ['EA'], null],
        ['notification', V1, ['EA'], null],
      ],
    },
  },
  {
    id: 35,
    name: "hub: two pending proposals (reporter's D+30, coordinator's D+80): the vendor's EA for D+30 activates it and D+80 becomes a revision (EV): shortest wins",
    given: [...PROPOSED, msg(C, ['EP'], { embargoEnd: END80 })],
    input: msg(V1, ['EA'], { proposal: 'E1' }),
    expect: {
      em: 'REVISE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted', 'E2 revision pending'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' } },
      mails: [
        ['ack', V1, ['EK', 'EA', 'EV'], 'REQUEST CONFIRMED E1'],
        ['notification', C, ['EA', 'EV'], 'REQUEST CONFIRMED E1'],
        ['notification', R, ['EA', 'EV'], 'REQUEST CONFIRMED E1'],
      ],
    },
  },
  {
    id: 35,
    name: 'hub: EA naming neither of two pending proposals → EE (+GI): which one is meant',
    given: [...PROPOSED, msg(C, ['EP'], { embargoEnd: END80 })],
    input: msg(V1, ['EA']),
    expect: {
      em: 'PROPOSED',
      pxa: 'pxa',
      end: null,
      proposals: ['E1 proposal pending', 'E2 proposal pending'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'NO_EMBARGO' } },
      mails: [['error', V1, ['EE', 'GI'], null]],
      errors: ['embargo-ambiguous'],
    },
  },
  {
    id: 36,
    name: "hub (policy.quorum 'any': one vendor's EA activated E1): a second vendor's EA for the current terms → EK, its consent SIGNATORY, EM unchanged; EA to the others",
    given: [
      ...V1_AWARE,
      invite(V2, 'vendor'),
      msg(V2, ['RV']),
      withPolicy(msg(R, ['EP'], { embargoEnd: END30 }), QUORUM_ANY),
      withPolicy(msg(V1, ['EA']), QUORUM_ANY),
    ],
    input: msg(V2, ['EA']),
    policy: QUORUM_ANY,
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: {
        [V2]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' },
        [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' },
      },
      mails: [
        ['ack', V2, ['EK'], null],
        ['notification', C, ['EA'], null],
        ['notification', R, ['EA'], null],
        ['notification', V1, ['EA'], null],
      ],
    },
  },
  {
    id: 36,
    name: 'hub: a signatory repeating EA for the current terms → EK only (idempotent: no transition, no notification)',
    given: ACTIVE,
    input: msg(V1, ['EA']),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' } },
      mails: [['ack', V1, ['EK'], null]],
    },
  },
  {
    id: 36,
    name: 'hub: a repeated EA for a pending proposal (here its own proposer) → EK only (idempotent: no transition, no notification)',
    given: PROPOSED,
    input: msg(R, ['EA']),
    expect: {
      em: 'PROPOSED',
      pxa: 'pxa',
      end: null,
      proposals: ['E1 proposal pending'],
      who: { [R]: { rm: 'ACCEPTED', vfd: null, consent: 'NO_EMBARGO' } },
      mails: [['ack', R, ['EK'], null]],
    },
  },
  {
    id: 36,
    name: 'hub: EA naming a proposal the case never had → EE (+GI): it matches no known proposal',
    given: ACTIVE,
    input: msg(V1, ['EA'], { proposal: 'E9' }),
    expect: {
      em: 'ACTIVE',
      pxa: 'pxa',
      end: END30,
      proposals: ['E1 proposal accepted'],
      who: { [V1]: { rm: 'VALID', vfd: 'Vfd', consent: 'SIGNATORY' } },
      mails: [['error', V1, ['EE', 'GI'], null]],
      errors: ['embargo-unknown-proposal'],
    },
  },
];

/** §9 rows with no meaning for a hub (DESIGN.md §2 "Hub model vs. PROTOCOL.md §9"). */
const NOT_APPLICABLE: ReadonlyArray<{ id: number; reason: string }> = [
  {
    id: 3,
    reason:
      'A coordinator receiving RS as a peer: the bot is the coordinating organisation and hosts the case, so a ' +
      'report to it opens a case instead (RK to the reporter, the report to each configured coordinator, whose ' +
      'record goes to RECEIVED, no CV since nobody is a vendor yet: asserted in "the given states" below).',
  },
  {
    id: 7,
    reason:
      "The reporter's own local action of sending RS to the vendor: in the hub the bot, not the reporter, sends " +
      'the report (on /invite, row #1), and a first report carrying /embargo is active at once (row #2), so there ' +
      'is no receiver that could keep P while the sender is bound.',
  },
  {
    id: 32,
    reason:
      "A reporter's local refusal to send RS from a hidden RM state: the hub never sees a participant's local " +
      'actions, and a mail with no case reference is RS from a new reporter in RM ACCEPTED by definition ' +
      '(DESIGN.md §2 "New report").',
  },
];

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

function senderOf(input: Input): string | null {
  if (input.kind === 'message') return input.from;
  if (input.kind === 'report') return input.from.email;
  return null;
}

describe('PROTOCOL.md §9 scenarios in the case hub (DESIGN.md §2 "Precise rules")', () => {
  it.each(ROWS.map((row) => [`#${row.id} ${row.name}`, row] as const))('%s', (_label, row) => {
    const before = build(row.given);
    row.patch?.(before);
    const frozen = JSON.stringify(before);
    const d = decide(before, row.input, { now: row.now ?? NOW, policy: policyOf(row.policy) });
    const s = d.snapshot;

    expect(JSON.stringify(before), 'decide() must not mutate its input').toBe(frozen);
    expect(d.applied).toBe(row.expect.applied ?? true);
    expect({ em: s.em, pxa: s.pxa, end: s.embargo.end }).toEqual({
      em: row.expect.em,
      pxa: row.expect.pxa,
      end: row.expect.end,
    });
    expect(proposalsOf(s)).toEqual(row.expect.proposals);

    const sender = senderOf(row.input);
    if (sender !== null) expect(Object.keys(row.expect.who)).toContain(sender);
    for (const [email, rec] of Object.entries(row.expect.who)) {
      const p = findParticipant(s, email);
      expect(p, email).toBeDefined();
      const actual: Rec = { rm: p?.rm as RMState, vfd: p?.vfd ?? null };
      if (rec.consent !== undefined) actual.consent = p?.consent;
      if (rec.embargoAdherence !== undefined) actual.embargoAdherence = p?.embargoAdherence;
      expect(actual, email).toEqual(rec);
    }

    expect(sortMails(mailsOf(d).map(mailTuple))).toEqual(sortMails(row.expect.mails));
    expect(mailsOf(d).flatMap((m) => (m.data.error ? [m.data.error.code] : []))).toEqual(
      row.expect.errors ?? [],
    );
    row.check?.(d, before);
  });

  it('covers every scenario 1..36: each is run, or listed with the reason it has no meaning for a hub', () => {
    const run = new Set(ROWS.map((r) => r.id));
    const listed = new Set(NOT_APPLICABLE.map((n) => n.id));
    expect([...run].filter((id) => listed.has(id))).toEqual([]);
    expect([...new Set([...run, ...listed])].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 36 }, (_, i) => i + 1),
    );
    for (const n of NOT_APPLICABLE) expect(n.reason.length, `#${n.id}`).toBeGreaterThan(40);
    expect(NOT_APPLICABLE.map((n) => n.id)).toEqual([3, 7, 32]);
  });

  it('gives every row a distinct name, and a defensive (hand-patched) row says so', () => {
    const names = ROWS.map((r) => `#${r.id} ${r.name}`);
    expect(new Set(names).size).toBe(names.length);
    for (const r of ROWS) if (r.patch) expect(r.name).toMatch(/^hub \(defensive/);
  });
});

describe('the given states, built by decide() from newCase()', () => {
  it('a new report opens the case: RK to the reporter, the report to the coordinator (RECEIVED), no CV', () => {
    const empty = build([]);
    const d = decide(empty, newReport(), { now: NOW, policy: DEFAULT_POLICY });
    expect(sortMails(mailsOf(d).map(mailTuple))).toEqual(
      sortMails([
        ['ack', R, ['RK'], null],
        ['report', C, ['RS'], null],
      ]),
    );
    expect(d.snapshot.participants.map((p) => [p.email, p.roles, p.rm, p.vfd, p.reportSent])).toEqual([
      [C, ['coordinator'], 'RECEIVED', null, true],
      [R, ['reporter'], 'ACCEPTED', null, true],
    ]);
    expect(d.log.filter((l) => l.kind === 'inbound').map((l) => l.types)).toEqual([['RS']]);
  });

  it.each([
    [
      'OPEN',
      OPEN,
      'NONE',
      [
        [C, 'RECEIVED', null],
        [R, 'ACCEPTED', null],
      ],
    ],
    [
      'WITH_V1',
      WITH_V1,
      'NONE',
      [
        [C, 'RECEIVED', null],
        [R, 'ACCEPTED', null],
        [V1, 'RECEIVED', 'vfd'],
      ],
    ],
    [
      'V1_AWARE',
      V1_AWARE,
      'NONE',
      [
        [C, 'RECEIVED', null],
        [R, 'ACCEPTED', null],
        [V1, 'VALID', 'Vfd'],
      ],
    ],
    [
      'PROPOSED',
      PROPOSED,
      'PROPOSED',
      [
        [C, 'RECEIVED', null],
        [R, 'ACCEPTED', null],
        [V1, 'VALID', 'Vfd'],
      ],
    ],
    [
      'ACTIVE',
      ACTIVE,
      'ACTIVE',
      [
        [C, 'RECEIVED', null],
        [R, 'ACCEPTED', null],
        [V1, 'VALID', 'Vfd'],
      ],
    ],
    [
      'REVISE',
      REVISE,
      'REVISE',
      [
        [C, 'RECEIVED', null],
        [R, 'ACCEPTED', null],
        [V1, 'VALID', 'Vfd'],
      ],
    ],
    [
      'ACTIVE_V1_UNAWARE',
      ACTIVE_V1_UNAWARE,
      'ACTIVE',
      [
        [C, 'RECEIVED', null],
        [R, 'ACCEPTED', null],
        [V1, 'RECEIVED', 'vfd'],
      ],
    ],
    [
      'V1_CLOSED',
      V1_CLOSED,
      'EXITED',
      [
        [C, 'RECEIVED', null],
        [R, 'ACCEPTED', null],
        [V1, 'CLOSED', 'VFD'],
      ],
    ],
  ] as const)('%s', (_name, given, em, participants) => {
    const s = build(given);
    expect(s.em).toBe(em);
    expect(s.participants.map((p) => [p.email, p.rm, p.vfd])).toEqual(participants);
  });
});
