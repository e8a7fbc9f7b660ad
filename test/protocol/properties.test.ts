/**
 * Properties of decide() (DESIGN.md §1–2, PROTOCOL.md §2–5):
 *  (a) a grid: every EM state × the sender's RM state × pxa × each of the 28 codes, on snapshots
 *      reached through decide() itself from a real case (plus, separately and said so, the
 *      unreachable combinations as hand-patched snapshots, for defensive behaviour only);
 *  (b) random multi-participant sequences (fast-check) keep the invariants after every step,
 *      under both values of policy.terminateOnAttacks;
 *  (c) snapshots round-trip through JSON exactly, decide() on the restored snapshot gives the
 *      same Decision, and decide() never mutates its input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/protocol/decide.js';
import { EM_EDGES } from '../../src/protocol/em.js';
import { DEFAULT_POLICY } from '../../src/protocol/policy.js';
import type { Policy, QuorumPolicy } from '../../src/protocol/policy.js';
import { rmReachable } from '../../src/protocol/rm.js';
import { embargoUid, newCase } from '../../src/protocol/snapshot.js';
import type { CaseSnapshot, Participant, Proposal } from '../../src/protocol/snapshot.js';
import type { Decision, Input, MailEffect, Payload, TimerKind, TimerRef } from '../../src/protocol/types.js';
import {
  EM_STATES,
  MESSAGE_CODES,
  PEC_STATES,
  PXA_STATES,
  RM_STATES,
  ROLES,
  VFD_STATES,
} from '../../src/protocol/vocabulary.js';
import type { EMState, MessageCode, PXA, RMState, Role } from '../../src/protocol/vocabulary.js';

// ---------------------------------------------------------------------------------------------
// Cast, clock, helpers
// ---------------------------------------------------------------------------------------------

const CASE_ID = 'VM-2026-0042';
const DOMAIN = 'bot.example';
const T0 = '2026-06-01T12:00:00Z';
const HOUR = 3_600_000;
const END30 = '2026-07-01T23:59:59Z';
const END45 = '2026-07-16T23:59:59Z';
const END60 = '2026-07-31T23:59:59Z';

const C = 'coord@cert.example';
const R = 'finder@example.org';
const V1 = 'psirt@vendor1.example';
const V2 = 'security@vendor2.example';
const D = 'ops@deployer.example';
const OUTSIDER = 'stranger@elsewhere.example';
const PEOPLE = [R, V1, V2, C, D] as const;

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const plusHours = (instant: string, h: number) => iso(Date.parse(instant) + h * HOUR);
const uid = (n: number) => embargoUid(CASE_ID, n, DOMAIN);
const inForce = (em: EMState) => em === 'ACTIVE' || em === 'REVISE';
const policyWith = (p: Partial<Policy>): Policy => ({ ...DEFAULT_POLICY, ...p });

const fresh = () =>
  newCase({
    id: CASE_ID,
    title: 'Use-after-free in the widget parser',
    now: T0,
    domain: DOMAIN,
    coordinators: [{ email: C }],
  });
const msg = (from: string, codes: MessageCode[], payload: Payload = {}, noReply = false): Input => ({
  kind: 'message',
  from,
  codes,
  payload,
  ...(noReply ? { noReply } : {}),
});
const inviteBy = (from: string, email: string, role: Role): Input =>
  msg(from, [], { invite: { email, role } });
const mailsOf = (d: Decision) => d.effects.filter((e): e is MailEffect => e.type === 'mail');
const senderOf = (input: Input): string | null =>
  input.kind === 'message'
    ? input.from.toLowerCase()
    : input.kind === 'report'
      ? input.from.email.toLowerCase()
      : null;

/** EM states reachable from `from` along the DFA's edges (PROTOCOL.md §2.3), `from` included. */
function emClosure(from: EMState): Set<EMState> {
  const seen = new Set<EMState>([from]);
  const queue = [from];
  while (queue.length > 0) {
    const s = queue.shift() as EMState;
    for (const e of EM_EDGES) {
      if (e.from !== s || seen.has(e.to)) continue;
      seen.add(e.to);
      queue.push(e.to);
    }
  }
  return seen;
}

/**
 * The quorum members of DESIGN.md §2 "Quorum", computed here independently of decide.ts:
 * engaged vendor/reporter (or everyone, for all-engaged) participants except the proposer and
 * the coordinators, deliverable, not CLOSED, holding the report, not merely INVITED to the
 * embargo in force.
 */
function quorumMembers(s: CaseSnapshot, p: Proposal, quorum: QuorumPolicy): Participant[] {
  return s.participants.filter(
    (q) =>
      q.engaged &&
      !q.undeliverable &&
      q.rm !== 'CLOSED' &&
      q.email !== p.proposer &&
      !q.roles.includes('coordinator') &&
      !(inForce(s.em) && q.consent === 'INVITED') &&
      (q.reportSent || q.rm !== 'START') &&
      (quorum === 'all-engaged' || q.roles.includes('vendor') || q.roles.includes('reporter')),
  );
}
function quorumMet(s: CaseSnapshot, p: Proposal, quorum: QuorumPolicy): boolean {
  const members = quorumMembers(s, p, quorum);
  const ok = (q: Participant) => p.acceptedBy.includes(q.email);
  return quorum === 'any' ? members.length === 0 || members.some(ok) : members.every(ok);
}

// ---------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------

/** Invariants of one snapshot (a state reached through decide()). */
function snapshotProblems(s: CaseSnapshot, policy: Policy): string[] {
  const out: string[] = [];
  const bad = (cond: boolean, what: string) => {
    if (cond) out.push(what);
  };
  const emails = s.participants.map((p) => p.email);
  bad(new Set(emails).size !== emails.length, `duplicate participants ${emails.join(',')}`);
  for (const p of s.participants) {
    bad(p.email !== p.email.trim().toLowerCase(), `participant address not normalised: ${p.email}`);
    bad(!RM_STATES.includes(p.rm), `${p.email}: RM ${p.rm}`);
    bad(!PEC_STATES.includes(p.consent), `${p.email}: consent ${p.consent}`);
    if (p.roles.includes('vendor'))
      bad(p.vfd === null || !VFD_STATES.includes(p.vfd), `vendor ${p.email}: vfd ${String(p.vfd)}`);
    else bad(p.vfd !== null, `non-vendor ${p.email} has vfd ${String(p.vfd)}`);
    if (!inForce(s.em))
      bad(
        p.consent !== 'NO_EMBARGO' && p.consent !== 'DECLINED',
        `${p.email}: consent ${p.consent} with no embargo in force (${s.em})`,
      );
  }

  bad(!PXA_STATES.includes(s.pxa), `pxa ${s.pxa}`);
  bad(s.pxa.startsWith('pX'), `pxa ${s.pxa}: X without P`);
  bad(inForce(s.em) && /[PX]/.test(s.pxa), `EM ${s.em} with pxa ${s.pxa}`);
  bad(
    inForce(s.em) && s.pxa.includes('A') && policy.terminateOnAttacks,
    `EM ${s.em} with attacks (${s.pxa}) although terminateOnAttacks`,
  );

  const proposals = s.embargo.proposals;
  const pending = proposals.filter((p) => p.status === 'pending');
  bad(
    (s.em === 'PROPOSED') !== (!inForce(s.em) && pending.length > 0),
    `EM ${s.em} with ${pending.length} pending`,
  );
  bad(
    (s.em === 'REVISE') !== (inForce(s.em) && pending.length > 0),
    `EM ${s.em} with ${pending.length} pending`,
  );
  bad(s.em === 'ACTIVE' && pending.length > 0, `ACTIVE with pending proposals`);
  bad(s.em === 'EXITED' && pending.length > 0, `EXITED with pending proposals`);
  if (s.em === 'NONE' || s.em === 'PROPOSED') {
    bad(s.embargo.end !== null, `EM ${s.em} with end ${s.embargo.end}`);
    bad(s.embargo.active !== null, `EM ${s.em} with an active proposal`);
  } else {
    // ACTIVE/REVISE, and EXITED, which only an activated embargo can reach.
    bad(
      s.embargo.end === null || Number.isNaN(Date.parse(s.embargo.end)),
      `EM ${s.em} with end ${s.embargo.end}`,
    );
  }
  if (inForce(s.em)) {
    const active = proposals.find((p) => p.id === s.embargo.active);
    bad(active?.status !== 'accepted', `EM ${s.em}: the active proposal is ${active?.status}`);
    bad(active?.end !== s.embargo.end, `EM ${s.em}: end ${s.embargo.end} is not the active proposal's`);
  }
  bad(proposals.filter((p) => p.status === 'accepted').length > 1, `more than one accepted proposal`);
  proposals.forEach((p, i) => {
    bad(p.n !== i + 1 || p.id !== `E${i + 1}`, `proposal #${i} is ${p.id}/${p.n}`);
    bad(p.uid !== uid(p.n), `proposal ${p.id} uid ${p.uid}`);
    bad(
      !p.acceptedBy.includes(p.proposer) && p.status === 'pending',
      `${p.id}: the proposer has not accepted`,
    );
    bad(
      p.status === 'pending' && Date.parse(p.rsvpDeadline) > Date.parse(p.end),
      `${p.id}: RSVP after the end`,
    );
  });
  // Settled: no proposal is left pending once its quorum is met (DESIGN.md §2 "Quorum").
  for (const p of pending)
    bad(quorumMet(s, p, policy.quorum), `${p.id} is pending although its quorum is met (EM ${s.em})`);
  return out;
}

/** Invariants of one step (before → decision), for mails, monotonicity and the log. */
function stepProblems(
  before: CaseSnapshot,
  input: Input,
  d: Decision,
  opts: { defensive?: boolean } = {},
): string[] {
  const out: string[] = [];
  const bad = (cond: boolean, what: string) => {
    if (cond) out.push(what);
  };
  const s = d.snapshot;
  const sender = senderOf(input);

  // EM moves only along the DFA; EXITED is final.
  bad(before.em === 'EXITED' && s.em !== 'EXITED', `left EXITED for ${s.em}`);
  bad(!emClosure(before.em).has(s.em), `EM ${before.em} → ${s.em} is not a DFA path`);
  // pxa, vfd, d only go up; RM only forward (a permanent bounce of the report undoes RECEIVED).
  for (let i = 0; i < 3; i++)
    bad(
      before.pxa[i] !== before.pxa[i]?.toLowerCase() && s.pxa[i] === s.pxa[i]?.toLowerCase(),
      `pxa ${before.pxa} → ${s.pxa}`,
    );
  for (const b of before.participants) {
    const a = s.participants.find((p) => p.email === b.email);
    if (!a) {
      out.push(`participant ${b.email} disappeared`);
      continue;
    }
    if (b.vfd !== null && a.vfd !== null)
      bad(VFD_STATES.indexOf(a.vfd) < VFD_STATES.indexOf(b.vfd), `${b.email}: vfd ${b.vfd} → ${a.vfd}`);
    bad(b.deployed && !a.deployed, `${b.email}: undeployed`);
    const bounced = input.kind === 'delivery-failure' && b.rm === 'RECEIVED' && a.rm === 'START';
    bad(a.rm !== b.rm && !rmReachable(b.rm).has(a.rm) && !bounced, `${b.email}: RM ${b.rm} → ${a.rm}`);
  }
  // Proposals: append-only, decided ones stay decided (an accepted one may be superseded or cancelled).
  before.embargo.proposals.forEach((b, i) => {
    const a = s.embargo.proposals[i];
    bad(!a || a.id !== b.id || a.end !== b.end || a.uid !== b.uid, `proposal ${b.id} changed identity`);
    if (a && b.status !== 'pending' && a.status !== b.status)
      bad(
        !(b.status === 'accepted' && ['superseded', 'cancelled'].includes(a.status)),
        `${b.id}: ${b.status} → ${a.status}`,
      );
  });

  // The log: appended, one `inbound` entry per applied inbound mail.
  expectLog(before, input, d, bad);
  if (!d.applied) {
    bad(d.effects.length > 0, `not applied, yet ${d.effects.length} effects`);
    bad(
      JSON.stringify({ ...s, log: before.log }) !== JSON.stringify(before),
      'not applied, yet the state changed',
    );
  }

  // Mails.
  const mails = mailsOf(d);
  for (const m of mails) {
    const to = s.participants.find((p) => p.email === m.to);
    const was = before.participants.find((p) => p.email === m.to);
    const label = `${m.kind} [${m.types.join(',')}] to ${m.to}`;
    bad(!to, `${label}: not a participant`);
    bad(typeof m.to !== 'string' || m.to.includes(',') || m.to !== m.to.toLowerCase(), `${label}: recipient`);
    bad(m.types.length === 0, `${label}: no types`);
    bad(
      m.types.some((t) => !MESSAGE_CODES.includes(t)),
      `${label}: unknown code`,
    );
    bad(new Set(m.types).size !== m.types.length, `${label}: repeated code`);
    if (m.calendar) {
      bad(!m.types.includes(m.calendar.code), `${label}: calendar code ${m.calendar.code} not in types`);
      bad(m.calendar.attendee !== m.to, `${label}: calendar attendee ${m.calendar.attendee}`);
      const c = m.calendar;
      const p = s.embargo.proposals.find((q) => q.id === c.proposal);
      bad(p?.uid !== c.uid, `${label}: calendar of an unknown proposal ${c.proposal}`);
      bad(!c.code.startsWith('E'), `${label}: calendar stands for ${c.code}, not an EM code`);
      bad(
        p !== undefined && c.sequence !== p.sequence,
        `${label}: SEQUENCE ${c.sequence} of ${p?.id}@${p?.sequence}`,
      );
      if (p && c.method === 'REQUEST') {
        bad(c.end !== p.end, `${label}: REQUEST end ${c.end} for ${p.id} ending ${p.end}`);
        bad(
          (c.status === 'CONFIRMED') !== (p.status === 'accepted'),
          `${label}: ${c.status} REQUEST of a ${p.status} ${p.id}`,
        );
        bad(
          (c.status === 'TENTATIVE') !== (p.status === 'pending'),
          `${label}: ${c.status} REQUEST of a ${p.status} ${p.id}`,
        );
      }
      if (p && c.method === 'CANCEL') {
        bad(c.status !== 'CANCELLED' || p.status === 'pending', `${label}: CANCEL of a ${p.status} ${p.id}`);
        bad(
          p.status === 'accepted' && inForce(s.em) && s.embargo.active === p.id,
          `${label}: CANCEL of the terms in force`,
        );
      }
      bad(
        c.partstat === 'ACCEPTED' && c.method !== 'REQUEST',
        `${label}: PARTSTAT ACCEPTED on a ${c.method}`,
      );
    }
    const isSender = m.to === sender;
    bad(['ack', 'error', 'status', 'help'].includes(m.kind) && !isSender, `${label}: reply to a non-sender`);
    if (to && !isSender) {
      bad(!to.engaged, `${label}: disengaged`);
      // Undeliverable addresses get nothing, unless a coordinator (re-)invites that very address
      // in this step (open question: does a re-invite vouch for the address? see the report).
      const reinvited = input.kind === 'message' && input.payload.invite?.email.toLowerCase() === m.to;
      bad(to.undeliverable && !reinvited, `${label}: undeliverable`);
      // Confidentiality: without the report, only the invitation (DESIGN.md §2 "Confidentiality").
      bad(
        !opts.defensive && !to.reportSent && m.kind !== 'invitation',
        `${label}: the recipient has no report`,
      );
    }
    if (to && isSender) bad(!to.engaged && !was?.engaged, `${label}: disengaged before the mail`);
    // The report to a newcomer while an embargo is in force only after its acceptance (LAPSED: it
    // signed terms that a revision superseded later in the same step).
    const whichReport = m.data.report ?? m.data.lines?.[0];
    if (m.kind === 'report' && whichReport === 'all' && inForce(before.em) && inForce(s.em))
      bad(to?.consent !== 'SIGNATORY' && to?.consent !== 'LAPSED', `${label}: report while ${to?.consent}`);
    if (input.kind !== 'timer' && input.kind !== 'delivery-failure' && input.noReply && isSender)
      bad(['ack', 'error', 'status', 'help'].includes(m.kind), `${label}: a reply although noReply`);
  }
  bad(mails.filter((m) => m.kind === 'ack').length > 1, 'more than one ack');
  // Timers.
  const timerIds = d.effects.flatMap((e) =>
    e.type === 'timer-set' ? [e.timer.id] : e.type === 'timer-clear' ? [e.id] : [],
  );
  bad(new Set(timerIds).size !== timerIds.length, `timer ids repeated: ${timerIds.join(',')}`);
  for (const e of d.effects)
    if (e.type === 'timer-set')
      bad(Number.isNaN(Date.parse(e.timer.due)), `timer ${e.timer.id} due ${e.timer.due}`);
  return out;
}

function expectLog(
  before: CaseSnapshot,
  input: Input,
  d: Decision,
  bad: (c: boolean, w: string) => void,
): void {
  bad(
    JSON.stringify(d.snapshot.log) !== JSON.stringify([...before.log, ...d.log]),
    'log is not before.log + d.log',
  );
  const inbound = d.log.filter((l) => l.kind === 'inbound').length;
  const expected = d.applied && (input.kind === 'message' || input.kind === 'report') ? 1 : 0;
  bad(inbound !== expected, `${inbound} inbound log entries`);
}

function check(before: CaseSnapshot, input: Input, d: Decision, policy: Policy, label: () => string): void {
  const problems = [...snapshotProblems(d.snapshot, policy), ...stepProblems(before, input, d)];
  if (problems.length > 0) throw new Error(`${label()}\n  ${problems.join('\n  ')}`);
}

// ---------------------------------------------------------------------------------------------
// (a) The grid
// ---------------------------------------------------------------------------------------------

/** START is reached two ways: the report bounced, or withheld from an invitee of the embargo in force. */
type SenderRM = Exclude<RMState, 'START'> | 'START(bounced)' | 'START(withheld)';
const SENDER_RMS: readonly SenderRM[] = [
  'START(bounced)',
  'START(withheld)',
  'RECEIVED',
  'INVALID',
  'VALID',
  'DEFERRED',
  'ACCEPTED',
  'CLOSED',
];
const RM_CODE: Partial<Record<SenderRM, MessageCode>> = {
  INVALID: 'RI',
  VALID: 'RV',
  DEFERRED: 'RD',
  ACCEPTED: 'RA',
  CLOSED: 'RC',
};
const POLICIES = {
  default: DEFAULT_POLICY,
  'no-terminate': policyWith({ terminateOnAttacks: false }),
} as const;
type PolicyName = keyof typeof POLICIES;

interface Cell {
  em: EMState;
  rm: SenderRM;
  pxa: PXA;
  policy: PolicyName;
}
const cellName = (c: Cell) => `${c.em}/${c.rm}/${c.pxa}/${c.policy}`;

/**
 * Builds a cell through decide(): R reports; V2 (the other quorum member) joins and is aware;
 * V1 (the sender under test) joins; the embargo is driven to `em`; V1 announces its RM state;
 * then R announces the pxa events. Returns the snapshot only if it landed exactly on the cell.
 */
function buildCell(cell: Cell, opts: { pxa?: PXA } = {}): CaseSnapshot | undefined {
  const policy = POLICIES[cell.policy];
  const targetPxa = opts.pxa ?? cell.pxa;
  let s = fresh();
  const run = (input: Input) => {
    const d = decide(s, input, { now: T0, policy });
    s = d.snapshot;
  };
  const withheld = cell.rm === 'START(withheld)';
  if (withheld && !['ACTIVE', 'REVISE', 'EXITED'].includes(cell.em)) return undefined;
  run({ kind: 'report', from: { email: R }, codes: ['RS'], payload: {} });
  run(inviteBy(C, V2, 'vendor'));
  run(msg(V2, ['RV']));
  if (!withheld) run(inviteBy(C, V1, 'vendor'));
  if (cell.rm === 'START(bounced)')
    run({ kind: 'delivery-failure', to: V1, permanent: true, types: ['RS'], detail: '550 unknown user' });
  if (cell.em !== 'NONE') run(msg(R, ['EP'], { embargoEnd: END30 }));
  if (['ACTIVE', 'REVISE', 'EXITED'].includes(cell.em)) {
    if (!withheld) run(msg(V1, ['EA']));
    run(msg(V2, ['EA']));
    if (withheld) run(inviteBy(C, V1, 'vendor'));
  }
  if (cell.em === 'REVISE') run(msg(R, ['EV'], { embargoEnd: END60 }));
  if (cell.em === 'EXITED') run(msg(R, ['ET'], { reason: 'grid' }));
  const code = RM_CODE[cell.rm];
  if (code) run(msg(V1, [code], code === 'RC' ? { adherence: 'adhere' } : {}));
  if (targetPxa.includes('A')) run(msg(R, ['CA']));
  if (targetPxa.includes('P') && !targetPxa.includes('X')) run(msg(R, ['CP']));
  if (targetPxa.includes('X')) run(msg(R, ['CX']));

  const v1 = s.participants.find((p) => p.email === V1);
  const rm = cell.rm.startsWith('START') ? 'START' : cell.rm;
  if (s.em !== cell.em || s.pxa !== targetPxa || v1?.rm !== rm) return undefined;
  if (cell.rm.startsWith('START') && v1.reportSent) return undefined;
  return s;
}

/** Which cells can exist, stated from the protocol (PROTOCOL.md §2.7, §3.3; DESIGN.md §2). */
function reachable(c: Cell): boolean {
  if (c.pxa.startsWith('pX')) return false; // X drags P along
  // Withheld from the report only while an embargo is in force: when it ends, the report goes out.
  if (c.rm === 'START(withheld)' && !['ACTIVE', 'REVISE'].includes(c.em)) return false;
  if (c.em === 'PROPOSED') return c.pxa === 'pxa'; // P, X and A all reject pending proposals
  if (c.em === 'ACTIVE' || c.em === 'REVISE')
    return c.pxa === 'pxa' || (c.pxa === 'pxA' && c.policy === 'no-terminate');
  return true;
}

const CELLS: Cell[] = (Object.keys(POLICIES) as PolicyName[]).flatMap((policy) =>
  EM_STATES.flatMap((em) => SENDER_RMS.flatMap((rm) => PXA_STATES.map((pxa) => ({ em, rm, pxa, policy })))),
);
const BUILT = new Map<string, CaseSnapshot | undefined>(CELLS.map((c) => [cellName(c), buildCell(c)]));

/** A plausible payload for each code, as the mail layer would hand it over. */
function plausible(code: MessageCode, sender: string, s: CaseSnapshot): Payload[] {
  const last = s.embargo.proposals.at(-1)?.id;
  switch (code) {
    case 'EP':
    case 'EV':
      return [{ embargoEnd: END45 }];
    case 'EA':
    case 'ER':
    case 'EC':
    case 'EJ':
      return last ? [{}, { proposal: last }] : [{}];
    case 'ET':
      return [{ reason: 'the vendor published early' }];
    case 'CP':
    case 'CX':
    case 'CA':
      return [{ reason: 'https://news.example/article' }];
    case 'CV':
    case 'CF':
    case 'CD':
      return sender === C ? [{ vendor: V1 }] : [{}];
    case 'RC':
      return [{ adherence: 'adhere' }, {}];
    case 'GI':
      return [{ text: 'Any news?' }];
    default:
      return [{}];
  }
}

describe('(a) every EM × sender RM × pxa × code, on states reached through decide()', () => {
  it('reaches exactly the cells the protocol allows (and no others)', () => {
    const unexpected = CELLS.filter((c) => (BUILT.get(cellName(c)) !== undefined) !== reachable(c)).map(
      cellName,
    );
    expect(unexpected).toEqual([]);
    // Per policy 5 EM × 8 sender RMs × 8 pxa = 320 cells, less: pX. (2 pxa × 40) = 80; withheld in
    // NONE/PROPOSED/EXITED (3 × 6 other pxa) = 18; PROPOSED not pxa (5 × 7 RMs) = 35; ACTIVE/REVISE
    // not viable (2 × 8 RMs × 5 pxa, or × 4 when attacks may coexist) = 80 or 64.
    expect(CELLS.filter(reachable).length).toBe(320 - 80 - 18 - 35 - 80 + (320 - 80 - 18 - 35 - 64));
  });

  it.each(EM_STATES)('EM %s: decide() returns and keeps every invariant, for each of the 28 codes', (em) => {
    let runs = 0;
    for (const cell of CELLS.filter((c) => c.em === em)) {
      const before = BUILT.get(cellName(cell));
      if (!before) continue;
      const policy = POLICIES[cell.policy];
      // V1 is the sender whose RM varies; the reporter and the coordinator send too (once per EM × pxa).
      const senders = cell.rm === 'RECEIVED' ? [V1, R, C] : [V1];
      for (const sender of senders)
        for (const code of MESSAGE_CODES)
          for (const payload of plausible(code, sender, before)) {
            const input = msg(sender, [code], payload);
            const d = decide(before, input, { now: T0, policy });
            runs++;
            check(
              before,
              input,
              d,
              policy,
              () => `${cellName(cell)} ${sender} ${code} ${JSON.stringify(payload)}`,
            );
            // A closed sender is ignored; everyone else's mail is applied.
            expect(d.applied, `${cellName(cell)} ${sender} ${code}`).toBe(
              !(sender === V1 && cell.rm === 'CLOSED'),
            );
          }
    }
    expect(runs).toBeGreaterThan(em === 'PROPOSED' ? 500 : 900);
  });

  it('defensive: the unreachable EM × pxa cells, hand-patched, never throw and keep the mail invariants', () => {
    let runs = 0;
    // The sender's RM matters little here: two representative ones keep the sweep fast.
    const defensive = CELLS.filter(
      (c) => !reachable(c) && (c.rm === 'RECEIVED' || c.rm === 'START(bounced)'),
    );
    for (const cell of defensive) {
      const base = buildCell(cell, { pxa: 'pxa' });
      if (!base) continue;
      base.pxa = cell.pxa; // hand-crafted: the point of this test
      const policy = POLICIES[cell.policy];
      for (const code of MESSAGE_CODES)
        for (const payload of plausible(code, V1, base)) {
          const input = msg(V1, [code], payload);
          const d = decide(base, input, { now: T0, policy });
          runs++;
          const problems = stepProblems(base, input, d, { defensive: true });
          if (problems.length > 0) throw new Error(`${cellName(cell)} ${code}\n  ${problems.join('\n  ')}`);
          expect(
            d.snapshot.embargo.proposals.filter((p) => p.status === 'accepted').length,
          ).toBeLessThanOrEqual(1);
        }
    }
    expect(runs).toBeGreaterThan(2500);
  });
});

// ---------------------------------------------------------------------------------------------
// (b), (c) Random sequences
// ---------------------------------------------------------------------------------------------

type Who = number; // index into PEOPLE, or PEOPLE.length for the outsider
const whoArb = fc.oneof(
  { arbitrary: fc.nat({ max: PEOPLE.length - 1 }), weight: 12 },
  { arbitrary: fc.constant(PEOPLE.length), weight: 1 },
);
const email = (w: Who) => PEOPLE[w] ?? OUTSIDER;

interface PayloadRecipe {
  endHours?: number | 'garbage';
  ref?: { n: number; asUid: boolean };
  reason?: string;
  vendor?: Who;
  adherence?: 'adhere' | 'no-adhere';
  text?: string;
  invite?: { who: Who; role: Role };
  remove?: Who;
  leave?: boolean;
  status?: boolean;
  help?: boolean;
  calendar?: { method: 'REPLY' | 'COUNTER' | 'REFRESH'; n: number };
}

const refArb = fc.record({ n: fc.integer({ min: 1, max: 6 }), asUid: fc.boolean() });
const payloadArb: fc.Arbitrary<PayloadRecipe> = fc.record(
  {
    endHours: fc.oneof(
      { arbitrary: fc.integer({ min: -48, max: 24 * 130 }), weight: 8 },
      { arbitrary: fc.constant('garbage' as const), weight: 1 },
    ),
    ref: refArb,
    reason: fc.constantFrom('advisory published', 'https://exploit-db.example/1'),
    vendor: whoArb,
    adherence: fc.constantFrom('adhere' as const, 'no-adhere' as const),
    text: fc.string({ maxLength: 20 }),
    invite: fc.record({ who: whoArb, role: fc.constantFrom(...ROLES) }),
    remove: whoArb,
    leave: fc.boolean(),
    status: fc.boolean(),
    help: fc.boolean(),
    calendar: fc.record({
      method: fc.constantFrom('REPLY' as const, 'COUNTER' as const, 'REFRESH' as const),
      n: fc.integer({ min: 1, max: 6 }),
    }),
  },
  { requiredKeys: [] },
);

type Action =
  | { t: 'mail'; from: Who; codes: MessageCode[]; payload: PayloadRecipe; noReply: boolean }
  | { t: 'invite'; who: Who; role: Role }
  /** `/embargo <end>`: EP or EV as the EM state says (`natural`), or a given code. */
  | { t: 'propose'; from: Who; code: 'EP' | 'EV' | 'natural'; endHours: number }
  | { t: 'answer'; from: Who; code: 'EA' | 'ER' | 'EC' | 'EJ'; ref: { n: number; asUid: boolean } | null }
  | { t: 'cs'; from: Who; code: 'CV' | 'CF' | 'CD' | 'CP' | 'CX' | 'CA' }
  | { t: 'rm'; from: Who; code: 'RV' | 'RI' | 'RA' | 'RD' | 'RC'; adherence: 'adhere' | 'no-adhere' | null }
  | { t: 'fire'; pick: number }
  | { t: 'stale-timer'; kind: TimerKind; ref: number }
  | { t: 'bounce'; who: Who; permanent: boolean; rs: boolean }
  | { t: 'advance'; hours: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('mail' as const),
      from: whoArb,
      codes: fc.uniqueArray(fc.constantFrom(...MESSAGE_CODES), { minLength: 0, maxLength: 3 }),
      payload: payloadArb,
      noReply: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('invite' as const),
      who: fc.constantFrom(1, 2, 4),
      role: fc.oneof(
        { arbitrary: fc.constant('natural' as unknown as Role), weight: 5 },
        { arbitrary: fc.constantFrom(...ROLES), weight: 1 },
      ),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('propose' as const),
      from: whoArb,
      code: fc.constantFrom(
        'natural' as const,
        'natural' as const,
        'natural' as const,
        'EP' as const,
        'EV' as const,
      ),
      endHours: fc.oneof(
        { arbitrary: fc.integer({ min: 30, max: 24 * 14 }), weight: 4 },
        { arbitrary: fc.integer({ min: 0, max: 24 * 125 }), weight: 1 },
      ),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('answer' as const),
      from: whoArb,
      code: fc.constantFrom('EA' as const, 'ER' as const, 'EC' as const, 'EJ' as const),
      ref: fc.option(refArb, { nil: null }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('cs' as const),
      from: whoArb,
      code: fc.constantFrom(
        'CV' as const,
        'CF' as const,
        'CD' as const,
        'CP' as const,
        'CX' as const,
        'CA' as const,
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('rm' as const),
      from: whoArb,
      code: fc.constantFrom('RV' as const, 'RI' as const, 'RA' as const, 'RD' as const, 'RC' as const),
      adherence: fc.constantFrom('adhere' as const, 'no-adhere' as const, null),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('fire' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('stale-timer' as const),
      kind: fc.constantFrom<TimerKind>(
        'embargo-expiry',
        'embargo-reminder',
        'rsvp-deadline',
        'rsvp-reminder',
        'vendor-response',
      ),
      ref: fc.integer({ min: 1, max: 6 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('bounce' as const),
      who: whoArb,
      permanent: fc.boolean(),
      rs: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('advance' as const), hours: fc.integer({ min: 0, max: 24 * 20 }) }),
  },
);

/** `FC_RUNS_FACTOR=20 npx vitest run test/protocol/properties.test.ts` soaks the properties longer. */
const RUNS_FACTOR = Math.max(1, Number(process.env.FC_RUNS_FACTOR ?? 1) || 1);

const firstReportArb = fc.record({ embargo: fc.boolean(), endHours: fc.integer({ min: 30, max: 24 * 95 }) });

const policyArb = (terminateOnAttacks: boolean): fc.Arbitrary<Policy> =>
  fc
    .record({
      quorum: fc.constantFrom<QuorumPolicy>('vendors-and-reporter', 'all-engaged', 'any'),
      attacksImplyPublic: fc.boolean(),
      rejectPendingOnFixReady: fc.boolean(),
      rsvpDays: fc.integer({ min: 1, max: 10 }),
      maxDays: fc.integer({ min: 14, max: 120 }),
    })
    .map((r) => ({
      ...DEFAULT_POLICY,
      quorum: r.quorum,
      attacksImplyPublic: r.attacksImplyPublic,
      rejectPendingOnFixReady: r.rejectPendingOnFixReady,
      rsvpDays: r.rsvpDays,
      embargo: { ...DEFAULT_POLICY.embargo, maxDays: r.maxDays },
      terminateOnAttacks,
    }));

const NATURAL_ROLE: Readonly<Record<string, Role>> = { [V1]: 'vendor', [V2]: 'vendor', [D]: 'deployer' };

function materialize(p: PayloadRecipe, now: string): Payload {
  const out: Payload = {};
  if (p.endHours !== undefined)
    out.embargoEnd = p.endHours === 'garbage' ? 'next Tuesday' : plusHours(now, p.endHours);
  if (p.ref) out.proposal = p.ref.asUid ? uid(p.ref.n) : `E${p.ref.n}`;
  if (p.reason !== undefined) out.reason = p.reason;
  if (p.vendor !== undefined) out.vendor = email(p.vendor);
  if (p.adherence !== undefined) out.adherence = p.adherence;
  if (p.text !== undefined) out.text = p.text;
  if (p.invite) out.invite = { email: email(p.invite.who), role: p.invite.role };
  if (p.remove !== undefined) out.remove = email(p.remove);
  if (p.leave !== undefined) out.leave = p.leave;
  if (p.status !== undefined) out.status = p.status;
  if (p.help !== undefined) out.help = p.help;
  if (p.calendar) out.calendar = { method: p.calendar.method, uid: uid(p.calendar.n) };
  return out;
}

interface World {
  s: CaseSnapshot;
  now: string;
  timers: Map<string, TimerRef>;
}

/** The input of one action in the current world (and the clock it runs at). */
function inputOf(a: Action, w: World): Input {
  switch (a.t) {
    case 'mail':
      return msg(email(a.from), a.codes, materialize(a.payload, w.now), a.noReply);
    case 'invite': {
      const who = email(a.who);
      const role = (a.role as string) === 'natural' ? (NATURAL_ROLE[who] ?? 'other') : a.role;
      return inviteBy(C, who, role);
    }
    case 'propose': {
      const code = a.code !== 'natural' ? a.code : inForce(w.s.em) ? 'EV' : 'EP';
      return msg(email(a.from), [code], { embargoEnd: plusHours(w.now, a.endHours) });
    }
    case 'answer':
      return msg(
        email(a.from),
        [a.code],
        a.ref ? { proposal: a.ref.asUid ? uid(a.ref.n) : `E${a.ref.n}` } : {},
      );
    case 'cs':
      return msg(email(a.from), [a.code], { reason: 'seen in the wild' });
    case 'rm':
      return msg(email(a.from), [a.code], a.adherence ? { adherence: a.adherence } : {});
    case 'fire': {
      const due = [...w.timers.values()].sort((x, y) => x.id.localeCompare(y.id));
      const t = due[a.pick % Math.max(due.length, 1)];
      if (!t)
        return {
          kind: 'timer',
          timer: { id: 'embargo-expiry', kind: 'embargo-expiry', due: w.now, ref: 'E1' },
        };
      w.timers.delete(t.id);
      if (Date.parse(t.due) > Date.parse(w.now)) w.now = t.due;
      return { kind: 'timer', timer: t };
    }
    case 'stale-timer': {
      const ref = a.kind === 'vendor-response' ? email(a.ref % PEOPLE.length) : `E${a.ref}`;
      return { kind: 'timer', timer: { id: `${a.kind}:${ref}`, kind: a.kind, due: w.now, ref } };
    }
    case 'bounce':
      return {
        kind: 'delivery-failure',
        to: email(a.who),
        permanent: a.permanent,
        types: a.rs ? ['RS'] : ['EP', 'GI'],
        detail: a.permanent ? '550 5.1.1 user unknown' : '451 4.7.1 try later',
      };
    case 'advance':
      w.now = plusHours(w.now, a.hours);
      return {
        kind: 'timer',
        timer: { id: 'vendor-response:nobody', kind: 'vendor-response', due: w.now, ref: OUTSIDER },
      };
  }
}

/**
 * Runs a sequence: a new report from R, then each action. `onStep` sees each decide() call
 * (before, input, decision) and may replace how it is computed.
 */
function runSequence(
  policy: Policy,
  first: { embargo: boolean; endHours: number },
  actions: readonly Action[],
  onStep: (before: CaseSnapshot, input: Input, d: Decision, now: string, i: number) => void,
): World {
  const w: World = { s: fresh(), now: T0, timers: new Map() };
  const apply = (input: Input, i: number) => {
    const before = w.s;
    const d = decide(before, input, { now: w.now, policy });
    onStep(before, input, d, w.now, i);
    for (const e of d.effects) {
      if (e.type === 'timer-set') w.timers.set(e.timer.id, e.timer);
      else if (e.type === 'timer-clear') w.timers.delete(e.id);
    }
    w.s = d.snapshot;
  };
  apply(
    {
      kind: 'report',
      from: { email: R, name: 'Fay' },
      codes: first.embargo ? ['RS', 'EP'] : ['RS'],
      payload: first.embargo ? { embargoEnd: plusHours(T0, first.endHours) } : {},
    },
    -1,
  );
  actions.forEach((a, i) => apply(inputOf(a, w), i));
  return w;
}

const describeStep = (input: Input, i: number, now: string) =>
  `step ${i} at ${now}: ${JSON.stringify(input)}`;

describe('(b) random multi-participant sequences keep the invariants after every step', () => {
  it.each([true, false])(
    'policy.terminateOnAttacks = %s',
    (terminateOnAttacks) => {
      const seen = { steps: 0, active: 0, revise: 0, exited: 0, applied: 0 };
      fc.assert(
        fc.property(
          policyArb(terminateOnAttacks),
          firstReportArb,
          fc.array(actionArb, { minLength: 1, maxLength: 40, size: 'max' }),
          (policy, first, actions) => {
            runSequence(policy, first, actions, (before, input, d, now, i) => {
              check(before, input, d, policy, () => describeStep(input, i, now));
              seen.steps++;
              if (d.applied) seen.applied++;
              if (d.snapshot.em === 'ACTIVE') seen.active++;
              if (d.snapshot.em === 'REVISE') seen.revise++;
              if (d.snapshot.em === 'EXITED') seen.exited++;
            });
          },
        ),
        { numRuns: 120 * RUNS_FACTOR },
      );
      // The generator reaches the interesting states (not a vacuous pass).
      expect(seen.active).toBeGreaterThan(200 * RUNS_FACTOR);
      expect(seen.revise).toBeGreaterThan(20 * RUNS_FACTOR);
      expect(seen.exited).toBeGreaterThan(200 * RUNS_FACTOR);
      expect(seen.applied / seen.steps).toBeGreaterThan(0.5);
    },
    20_000 * RUNS_FACTOR,
  );
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

describe('(c) snapshots are plain JSON and decide() is a pure function of them', () => {
  it(
    'round-trips every snapshot exactly; decide() on the restored copy gives the same Decision; the input is never mutated',
    () => {
      fc.assert(
        fc.property(
          policyArb(true),
          firstReportArb,
          fc.array(actionArb, { minLength: 1, maxLength: 30, size: 'max' }),
          (policy, first, actions) => {
            runSequence(policy, first, actions, (before, input, d, now) => {
              const json = JSON.stringify(before);
              const restored = JSON.parse(json) as CaseSnapshot;
              expect(restored).toStrictEqual(before);
              // The same input on the restored copy, and on a deeply frozen original.
              const again = decide(restored, input, { now, policy });
              expect(again).toStrictEqual(d);
              const frozen = deepFreeze(JSON.parse(json) as CaseSnapshot);
              expect(decide(frozen, input, { now, policy })).toStrictEqual(d);
              expect(JSON.stringify(before)).toBe(json);
              // The Decision itself is plain data (effects as data, DESIGN.md §1).
              expect(JSON.parse(JSON.stringify(d))).toStrictEqual(d);
              expect(JSON.parse(JSON.stringify(d.snapshot))).toStrictEqual(d.snapshot);
            });
          },
        ),
        { numRuns: 60 * RUNS_FACTOR },
      );
    },
    20_000 * RUNS_FACTOR,
  );
});

// ---------------------------------------------------------------------------------------------
// Regressions: the counterexamples (b) found, replayed deterministically (each fixed in decide.ts)
// ---------------------------------------------------------------------------------------------

/** Replays inputs from a fresh case at T0 with the full invariant check; returns every decision. */
function replay(inputs: readonly Input[], policy: Policy = DEFAULT_POLICY): Decision[] {
  let s = fresh();
  return inputs.map((input, i) => {
    const d = decide(s, input, { now: T0, policy });
    check(s, input, d, policy, () => describeStep(input, i, T0));
    s = d.snapshot;
    return d;
  });
}
const report = (codes: MessageCode[] = ['RS'], payload: Payload = {}): Input => ({
  kind: 'report',
  from: { email: R },
  codes,
  payload,
});
const lastOf = (ds: Decision[]) => ds.at(-1) as Decision;
const calendarsTo = (d: Decision, to: string) =>
  mailsOf(d).flatMap((m) =>
    m.to === to && m.calendar ? [`${m.calendar.method} ${m.calendar.proposal}`] : [],
  );

describe('regressions found by the random sequences', () => {
  it('a participant removed by the same mail gets no report (RS + /remove)', () => {
    const d = lastOf(replay([report(), msg(C, ['RS'], { remove: R })]));
    expect(mailsOf(d).filter((m) => m.to === R)).toEqual([]);
  });

  it('an invitee removed by the same mail gets nothing (/invite + /remove)', () => {
    const d = lastOf(replay([report(), msg(C, [], { invite: { email: V2, role: 'vendor' }, remove: V2 })]));
    expect(mailsOf(d).map((m) => m.to)).toEqual([C]);
  });

  it('a quorum member closing its report settles the proposals it was holding up', () => {
    const d = lastOf(
      replay([
        report(),
        inviteBy(C, V2, 'vendor'),
        msg(V2, ['EP'], { embargoEnd: END30 }),
        msg(R, ['RC'], { adherence: 'adhere' }),
      ]),
    );
    expect([d.snapshot.em, d.snapshot.embargo.end]).toEqual(['ACTIVE', END30]);
    expect(mailsOf(d).find((m) => m.to === R)?.types).toEqual(['RK', 'EA']);
  });

  it('a coordinator still INVITED to the embargo in force gets no alert (only the invitation)', () => {
    const d = lastOf(
      replay([
        report(['RS', 'EP'], { embargoEnd: END30 }),
        msg(C, [], { invite: { email: V1, role: 'coordinator' }, leave: true, adherence: 'no-adhere' }),
      ]),
    );
    expect(
      mailsOf(d)
        .filter((m) => m.to === V1)
        .map((m) => m.kind),
    ).toEqual(['invitation']);
  });

  it('withheld invitees who accepted (or proposed) the revision now in force get the report and the CANCEL of superseded terms', () => {
    const end = plusHours(T0, 30);
    const d = lastOf(
      replay([
        report(['RS', 'EP'], { embargoEnd: end }),
        inviteBy(C, V1, 'vendor'),
        msg(V1, ['EV'], { embargoEnd: end }),
        msg(V1, ['EV'], { embargoEnd: end }),
        inviteBy(C, D, 'finder'),
        msg(D, ['EA'], { proposal: 'E3' }),
        msg(R, [], { leave: true }),
      ]),
    );
    expect(d.snapshot.embargo.active).toBe('E3');
    for (const who of [V1, D]) {
      const p = d.snapshot.participants.find((q) => q.email === who);
      expect([who, p?.consent, p?.reportSent, p?.rm]).toEqual([who, 'SIGNATORY', true, 'RECEIVED']);
      expect(calendarsTo(d, who).sort()).toEqual(['CANCEL E1', 'CANCEL E2', 'REQUEST E3']);
    }
  });

  it('an accepted COUNTER that is terminated gets its proposer a CANCEL, not a DECLINECOUNTER', () => {
    const d = lastOf(
      replay([
        report(['RS', 'EP'], { embargoEnd: END30 }),
        msg(R, ['CX', 'EV'], { embargoEnd: END45, calendar: { method: 'COUNTER', uid: uid(1) } }),
      ]),
    );
    expect(d.snapshot.em).toBe('EXITED');
    // E1 (superseded by the counter) and E2 (the counter, terminated by CX): both held CONFIRMED.
    expect(calendarsTo(d, R).sort()).toEqual(['CANCEL E1', 'CANCEL E2']);
  });

  it('a newcomer who declined, then sends a stale EA and CX in one mail, gets the CANCEL of the re-sent terms', () => {
    const end = plusHours(T0, 30);
    const policy = policyWith({ rsvpDays: 1 });
    const ds = replay(
      [
        report(['RS', 'EP'], { embargoEnd: end }),
        inviteBy(C, V1, 'vendor'),
        msg(V1, ['EV'], { embargoEnd: end }),
        inviteBy(C, D, 'deployer'),
      ],
      policy,
    );
    // E2's RSVP deadline passes (it equals its end, never past it), then D declines E1 and, later,
    // accepts the expired E2 together with a CX.
    let s = (ds.at(-1) as Decision).snapshot;
    const steps: Array<[Input, string]> = [
      [{ kind: 'timer', timer: { id: 'rsvp-deadline:E2', kind: 'rsvp-deadline', due: end, ref: 'E2' } }, end],
      [msg(D, ['ER']), end],
      [msg(D, ['EA', 'CX'], { proposal: 'E2' }), end],
    ];
    let d = ds.at(-1) as Decision;
    for (const [input, now] of steps) {
      d = decide(s, input, { now, policy });
      check(s, input, d, policy, () => JSON.stringify(input));
      s = d.snapshot;
    }
    expect([s.em, s.participants.find((p) => p.email === D)?.consent]).toEqual(['EXITED', 'NO_EMBARGO']);
    expect(calendarsTo(d, D)).toEqual(['CANCEL E1']);
  });

  it('a sender who leaves with the mail that changed the terms gets no stale calendar object', () => {
    const d = lastOf(
      replay([
        report(),
        msg(C, ['EP'], { embargoEnd: END45 }),
        msg(R, ['EP'], { embargoEnd: END30, leave: true }),
      ]),
    );
    expect([d.snapshot.em, d.snapshot.embargo.active]).toEqual(['ACTIVE', 'E1']);
    expect(calendarsTo(d, R)).toEqual([]);
  });

  it('a REFRESH in the mail whose /remove completes the quorum sends the event as accepted, not as proposed', () => {
    const d = lastOf(
      replay([
        report(),
        inviteBy(C, V2, 'vendor'),
        // The coordinator's address bounced: activation sends it nothing, only the REFRESH does.
        { kind: 'delivery-failure', to: C, permanent: true, types: ['GI'], detail: '5.1.1' },
        msg(V2, ['EP'], { embargoEnd: END30 }),
        msg(C, ['GI'], { remove: R, calendar: { method: 'REFRESH', uid: 'E1' } }),
      ]),
    );
    expect([d.snapshot.em, d.snapshot.embargo.active]).toEqual(['ACTIVE', 'E1']);
    expect(
      mailsOf(d)
        .filter((m) => m.to === C && m.calendar)
        .map((m) => m.calendar?.status),
    ).toEqual(['CONFIRMED']);
  });
});
