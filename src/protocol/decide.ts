/**
 * decide(): the case hub of DESIGN.md §2. A pure function of (snapshot, input, context):
 * no I/O, no clock. It returns the new snapshot, the effects as data (mails, calendar
 * objects riding on them, timers) and the log entries.
 *
 * Reading guide: `decide` sets up a Run, dispatches on the input kind, and `finish` turns
 * what happened (transitions, acknowledgements, errors, calendar objects) into mails.
 */
import { csNext, isViable, pxaApply, pxaHas, vfdApply, vfdHas } from './cs.js';
import type { PXAEvent } from './cs.js';
import { emEdge, isInForce } from './em.js';
import type { EMSymbol } from './em.js';
import { PROPOSAL_REJECTIONS, PROTOCOL_ERRORS } from './errors.js';
import type { ProposalRejectionCode, ProtocolErrorCode } from './errors.js';
import { pecStep } from './pec.js';
import type { Policy } from './policy.js';
import { MIN_RSVP_HOURS } from './policy.js';
import { RM_TARGET_OF, rmMove } from './rm.js';
import { cloneSnapshot, embargoUid, findParticipant, newParticipant, normEmail } from './snapshot.js';
import type { CaseSnapshot, LogEntry, Participant, Proposal } from './snapshot.js';
import { DAY_MS, HOUR_MS, addMs, canonical, iso, ms } from './time.js';
import type {
  CalendarAction,
  Context,
  Decision,
  Effect,
  Input,
  MailEffect,
  MailKind,
  Payload,
  TimerRef,
  TransitionNote,
} from './types.js';
import { FAMILY_ORDER, MESSAGE_CODES, familyOf, uniqueCodes } from './vocabulary.js';
import type { MessageCode } from './vocabulary.js';

interface Transition extends TransitionNote {
  /** Only coordinators are told (e.g. a newcomer declining the embargo). */
  coordinatorsOnly?: boolean;
}

interface Reply {
  kind: MailKind;
  types: MessageCode[];
  data: MailEffect['data'];
  calendar?: CalendarAction;
}

/** Everything one decide() call accumulates before it is turned into effects. */
class Run {
  readonly s: CaseSnapshot;
  readonly now: string;
  readonly policy: Policy;
  readonly sender: string | null;
  readonly transitions: Transition[] = [];
  readonly ackCodes: MessageCode[] = [];
  /** Extra mails to the sender (errors, rejections, status, help). */
  readonly replies: Reply[] = [];
  /** Calendar objects per recipient, in order; one per (recipient, uid). */
  readonly calendars = new Map<string, CalendarAction[]>();
  /** Recipients who get the report in this step (report: 'all' | 'latest'). */
  readonly reportTo = new Map<string, 'all' | 'latest'>();
  /** Mails addressed to one participant outside the notification (alerts, reminders, expiry). */
  readonly direct: Array<{ to: string; reply: Reply }> = [];
  readonly timers: Effect[] = [];
  readonly log: LogEntry[] = [];
  note: string | undefined;
  noReply = false;

  constructor(snapshot: CaseSnapshot, ctx: Context, sender: string | null) {
    this.s = cloneSnapshot(snapshot);
    this.now = canonical(ctx.now);
    this.policy = ctx.policy;
    this.sender = sender === null ? null : normEmail(sender);
  }

  addLog(kind: string, from: string | null, types: MessageCode[], detail: string): void {
    this.log.push({ at: this.now, kind, from, types, detail });
  }

  transition(code: MessageCode, actor: string | null, text: string, coordinatorsOnly = false): void {
    this.transitions.push({ code, actor, text, ...(coordinatorsOnly ? { coordinatorsOnly } : {}) });
    this.addLog('transition', actor, [code], text);
  }

  ack(code: MessageCode): void {
    this.ackCodes.push(code);
  }

  error(code: ProtocolErrorCode, extra: { line?: string; date?: string; detail?: string } = {}): void {
    const e = PROTOCOL_ERRORS[code];
    const message = extra.detail ? `${e.text} ${extra.detail}` : e.text;
    this.replies.push({
      kind: 'error',
      types: [e.reply, 'GI'],
      data: {
        transitions: [],
        error: { code, message, ...(extra.line ? { line: extra.line } : {}) },
        ...(extra.date ? { date: extra.date } : {}),
      },
    });
    this.addLog('error', this.sender, [e.reply], `${code}: ${message}`);
  }

  rejectProposalAtReceipt(code: ProposalRejectionCode, detail: string, date?: string): void {
    const message = `${PROPOSAL_REJECTIONS[code]} ${detail}`.trim();
    this.replies.push({
      kind: 'error',
      types: ['ER'],
      data: { transitions: [], error: { code, message }, ...(date ? { date } : {}) },
    });
    this.addLog('refused', this.sender, ['ER'], `${code}: ${message}`);
  }

  /** Adds a calendar object for a recipient; a later object for the same UID replaces an earlier one. */
  calendar(action: CalendarAction): void {
    const list = this.calendars.get(action.attendee) ?? [];
    const i = list.findIndex((a) => a.uid === action.uid);
    if (i >= 0) {
      const earlier = list[i] as CalendarAction;
      list.splice(i, 1);
      // A REQUEST never sent and cancelled in the same step: nothing to tell.
      if (action.method === 'CANCEL' && earlier.method === 'REQUEST' && earlier.status === 'TENTATIVE') {
        this.calendars.set(action.attendee, list);
        return;
      }
    }
    list.push(action);
    this.calendars.set(action.attendee, list);
  }

  setTimer(timer: TimerRef): void {
    this.timers.push({ type: 'timer-set', timer });
  }

  clearTimer(id: string): void {
    this.timers.push({ type: 'timer-clear', id });
  }

  participant(email: string): Participant | undefined {
    return findParticipant(this.s, email);
  }

  proposal(id: string): Proposal | undefined {
    const needle = id.trim().toLowerCase();
    return this.s.embargo.proposals.find(
      (p) => p.id.toLowerCase() === needle || p.uid.toLowerCase() === needle || String(p.n) === needle,
    );
  }

  get active(): Proposal | undefined {
    const id = this.s.embargo.active;
    return id === null ? undefined : this.s.embargo.proposals.find((p) => p.id === id);
  }

  pending(): Proposal[] {
    return this.s.embargo.proposals.filter((p) => p.status === 'pending');
  }

  emMove(symbol: EMSymbol): MessageCode {
    const edge = emEdge(this.s.em, symbol);
    this.s.em = edge.to;
    return edge.emits;
  }
}

// ---------------------------------------------------------------------------------------
// Who is who

const isCoordinator = (p: Participant) => p.roles.includes('coordinator');
const isVendor = (p: Participant) => p.roles.includes('vendor');
const isDeployer = (p: Participant) => p.roles.includes('deployer');

/** Receives case mail: engaged, has the report, address deliverable. */
function hasAccess(p: Participant): boolean {
  return p.engaged && p.reportSent && !p.undeliverable;
}

/** The quorum members for a proposal (DESIGN.md §2 "Quorum"). */
function quorumMembers(run: Run, proposal: Proposal): Participant[] {
  const inForce = isInForce(run.s.em);
  return run.s.participants.filter((p) => {
    if (!p.engaged || p.undeliverable || p.rm === 'CLOSED' || p.email === proposal.proposer) return false;
    if (isCoordinator(p)) return false;
    if (inForce && p.consent === 'INVITED') return false;
    if (!p.reportSent && p.rm === 'START') return false;
    if (run.policy.quorum === 'all-engaged') return true;
    return isVendor(p) || p.roles.includes('reporter');
  });
}

function quorumMet(run: Run, proposal: Proposal): boolean {
  const members = quorumMembers(run, proposal);
  const accepted = (p: Participant) => proposal.acceptedBy.includes(p.email);
  if (run.policy.quorum === 'any') return members.length === 0 || members.some(accepted);
  return members.every(accepted);
}

/** Whether one member's decline rejects the proposal: members, coordinators and the proposer. */
function canReject(run: Run, proposal: Proposal, p: Participant): boolean {
  return p.email === proposal.proposer || isCoordinator(p) || quorumMembers(run, proposal).includes(p);
}

/** Embargo viability for an embargo already in force (DESIGN.md §2 "Ending an embargo"). */
function inForceViable(run: Run): boolean {
  const pxa = run.s.pxa;
  if (pxaHas(pxa, 'P') || pxaHas(pxa, 'X')) return false;
  return !(pxaHas(pxa, 'A') && run.policy.terminateOnAttacks);
}

// ---------------------------------------------------------------------------------------
// Calendar objects

function calendarFor(
  run: Run,
  p: Proposal,
  attendee: Participant,
  method: CalendarAction['method'],
  code: MessageCode,
): CalendarAction {
  const status: CalendarAction['status'] =
    method === 'CANCEL' || method === 'DECLINECOUNTER'
      ? 'CANCELLED'
      : p.status === 'accepted'
        ? 'CONFIRMED'
        : 'TENTATIVE';
  const accepted =
    p.status === 'accepted' ? attendee.consent === 'SIGNATORY' : p.acceptedBy.includes(attendee.email);
  return {
    method,
    proposal: p.id,
    uid: p.uid,
    sequence: p.sequence,
    status,
    end: p.end,
    attendee: attendee.email,
    partstat: method === 'REQUEST' && accepted ? 'ACCEPTED' : 'NEEDS-ACTION',
    proposer: p.proposer,
    code,
  };
}

/** Attendees of embargo events: engaged, deliverable participants who have the report. */
function attendees(run: Run): Participant[] {
  return run.s.participants.filter(hasAccess);
}

function cancelEvent(run: Run, p: Proposal, code: MessageCode): void {
  p.sequence += 1;
  // DECLINECOUNTER only for a counter that never took effect; one that was in force (terminated,
  // or superseded by a revision) is held by its proposer as a CONFIRMED event: it needs the CANCEL.
  const neverInForce = p.status !== 'superseded' && p.id !== run.s.embargo.active;
  for (const a of attendees(run)) {
    if (p.counterTo !== null && a.email === p.proposer && neverInForce) {
      const countered = run.proposal(p.counterTo);
      if (countered) {
        run.calendar({ ...calendarFor(run, countered, a, 'DECLINECOUNTER', code), end: p.end });
      }
      continue;
    }
    run.calendar(calendarFor(run, p, a, 'CANCEL', code));
  }
}

function clearProposalTimers(run: Run, p: Proposal): void {
  run.clearTimer(`rsvp-deadline:${p.id}`);
  run.clearTimer(`rsvp-reminder:${p.id}`);
}

function setActiveTimers(run: Run, p: Proposal): void {
  run.setTimer({ id: 'embargo-expiry', kind: 'embargo-expiry', due: p.end, ref: p.id });
  for (const days of run.policy.reminderDays) {
    const due = addMs(p.end, -days * DAY_MS);
    const id = `embargo-reminder:${days}`;
    if (ms(due) > ms(run.now)) run.setTimer({ id, kind: 'embargo-reminder', due, ref: p.id });
    else run.clearTimer(id);
  }
}

function clearActiveTimers(run: Run): void {
  run.clearTimer('embargo-expiry');
  for (const days of run.policy.reminderDays) run.clearTimer(`embargo-reminder:${days}`);
}

// ---------------------------------------------------------------------------------------
// Embargo: proposing, accepting, rejecting, ending

function latestAcceptableEnd(run: Run, proposer: string): { end: string; days: number } {
  let days = run.policy.embargo.maxDays;
  for (const p of run.s.participants) {
    if (!p.engaged || p.maxEmbargoDays === null) continue;
    if (p.email === proposer || isVendor(p) || p.roles.includes('reporter'))
      days = Math.min(days, p.maxEmbargoDays);
  }
  return { end: iso(ms(run.now) + days * DAY_MS), days };
}

/** EP / EV (DESIGN.md §2, PROTOCOL.md §2.4): a new proposal or revision, or a refusal. */
function propose(run: Run, from: Participant, code: 'EP' | 'EV', payload: Payload): void {
  const em = run.s.em;
  if (em === 'EXITED') {
    run.rejectProposalAtReceipt('embargo-exited', '');
    return;
  }
  const inForce = isInForce(em);
  if (code === 'EP' && inForce) {
    if (!inForceViable(run)) return terminate(run, null, 'the case is no longer viable for an embargo');
    return run.error('embargo-use-revision');
  }
  if (code === 'EV' && !inForce) return run.error('embargo-nothing-to-revise');
  if (!inForce && !isViable(run.s.pxa)) {
    if (em === 'PROPOSED') rejectAllPending(run, 'the case is no longer viable for an embargo');
    run.rejectProposalAtReceipt('embargo-not-viable', '');
    return;
  }
  if (inForce && !inForceViable(run))
    return terminate(run, null, 'the case is no longer viable for an embargo');
  if (payload.embargoEnd === undefined) return run.error('embargo-no-end');
  const endMs = ms(payload.embargoEnd);
  if (Number.isNaN(endMs)) return run.rejectProposalAtReceipt('embargo-bad-date', payload.embargoEnd);
  const end = iso(endMs);
  const earliest = iso(ms(run.now) + run.policy.embargo.minHours * HOUR_MS);
  const counterTo = counterTarget(run, payload);
  if (endMs < ms(earliest)) {
    declineCounter(run, from, counterTo, end);
    run.rejectProposalAtReceipt('embargo-in-past', `The earliest acceptable end is ${earliest}.`, earliest);
    return;
  }
  const latest = latestAcceptableEnd(run, from.email);
  if (endMs > ms(latest.end)) {
    declineCounter(run, from, counterTo, end);
    run.rejectProposalAtReceipt(
      'embargo-too-long',
      `The latest acceptable end is ${latest.end} (${latest.days} days).`,
      latest.end,
    );
    return;
  }

  const n = run.s.embargo.proposals.length + 1;
  const rsvpMs = Math.min(
    Math.max(ms(run.now) + run.policy.rsvpDays * DAY_MS, ms(run.now) + MIN_RSVP_HOURS * HOUR_MS),
    endMs,
  );
  const p: Proposal = {
    id: `E${n}`,
    n,
    end,
    proposer: from.email,
    kind: inForce ? 'revision' : 'proposal',
    status: 'pending',
    uid: embargoUid(run.s.id, n, run.s.domain),
    sequence: 0,
    acceptedBy: [from.email],
    declinedBy: [],
    proposedAt: run.now,
    rsvpDeadline: iso(rsvpMs),
    counterTo,
    decidedAt: null,
  };
  run.s.embargo.proposals.push(p);
  const emitted = run.emMove('propose');
  run.transition(emitted, from.email, `${p.id} proposed: embargo until ${p.end}`);
  for (const a of attendees(run)) {
    if (a.email !== from.email) run.calendar(calendarFor(run, p, a, 'REQUEST', emitted));
  }
  run.setTimer({ id: `rsvp-deadline:${p.id}`, kind: 'rsvp-deadline', due: p.rsvpDeadline, ref: p.id });
  const reminder = rsvpMs - run.policy.rsvpReminderHours * HOUR_MS;
  if (reminder > ms(run.now)) {
    run.setTimer({ id: `rsvp-reminder:${p.id}`, kind: 'rsvp-reminder', due: iso(reminder), ref: p.id });
  }
  settle(run);
}

function counterTarget(run: Run, payload: Payload): string | null {
  if (payload.calendar?.method !== 'COUNTER') return null;
  return run.proposal(payload.calendar.uid)?.id ?? null;
}

function declineCounter(run: Run, from: Participant, counterTo: string | null, end: string): void {
  if (counterTo === null) return;
  const countered = run.proposal(counterTo);
  if (countered) run.calendar({ ...calendarFor(run, countered, from, 'DECLINECOUNTER', 'ER'), end });
}

/** Activates every proposal or revision whose quorum is met, shortest first (DESIGN.md §2). */
function settle(run: Run): void {
  for (;;) {
    const byEnd = run
      .pending()
      .sort((a, b) => ms(a.end) - ms(b.end) || a.n - b.n)
      .filter((p) => quorumMet(run, p));
    const next = byEnd[0];
    if (!next) return;
    if (run.s.em === 'PROPOSED') activate(run, next);
    else activateRevision(run, next);
  }
}

/** The accepted terms become the embargo in force (EM: P --accept--> A, or R --accept--> A). */
function takeEffect(run: Run, p: Proposal): void {
  p.status = 'accepted';
  p.decidedAt = run.now;
  run.s.embargo.active = p.id;
  run.s.embargo.end = p.end;
  run.emMove('accept');
  clearProposalTimers(run, p);
}

/**
 * Newcomers withheld from the report while an embargo is in force: invited to it, or having
 * declined it. They hold (or were sent) the event of the terms in force, nothing else.
 */
function isWithheld(q: Participant): boolean {
  return (
    q.engaged && !q.undeliverable && !q.reportSent && (q.consent === 'INVITED' || q.consent === 'DECLINED')
  );
}

/** P → A: the proposal becomes the embargo; other pending proposals become revisions. */
function activate(run: Run, p: Proposal): void {
  takeEffect(run, p);
  for (const q of run.s.participants) {
    if (!q.engaged) continue;
    if (p.acceptedBy.includes(q.email) || isCoordinator(q)) q.consent = 'SIGNATORY';
    else if (p.declinedBy.includes(q.email)) q.consent = 'DECLINED';
    else q.consent = 'INVITED';
  }
  run.transition('EA', null, `${p.id} accepted: the embargo is in force until ${p.end}`);
  for (const a of attendees(run)) run.calendar(calendarFor(run, p, a, 'REQUEST', 'EA'));
  setActiveTimers(run, p);
  const others = run.pending();
  for (const q of others) {
    q.kind = 'revision';
    run.transition('EV', null, `${q.id} (embargo until ${q.end}) is now a proposed revision`);
  }
  if (others.length > 0) run.emMove('propose');
}

/** R → A with new terms (EC): the revision replaces the terms in force. */
function activateRevision(run: Run, r: Proposal): void {
  const old = run.active;
  // Newcomers invited to the terms in force, the report withheld: taken before consents change.
  const invitees = run.s.participants.filter(
    (q) => q.engaged && !q.undeliverable && !q.reportSent && q.consent === 'INVITED',
  );
  // ...and those that declined: they hold the event of the old terms too (see terminate()).
  const holders = run.s.participants.filter(isWithheld);
  takeEffect(run, r);
  for (const q of run.s.participants) {
    if (!q.engaged) continue;
    if (r.acceptedBy.includes(q.email) || isCoordinator(q)) q.consent = 'SIGNATORY';
    else q.consent = pecStep(q.consent, 'revise') ?? q.consent;
  }
  run.transition('EC', null, `${r.id} accepted: the embargo now ends ${r.end}`);
  // An invitee who accepted the terms now in force gets the report (DESIGN.md §2 "Confidentiality").
  for (const a of invitees) if (a.consent === 'SIGNATORY') sendReport(run, a);
  for (const a of attendees(run)) run.calendar(calendarFor(run, r, a, 'REQUEST', 'EC'));
  for (const a of invitees) if (!a.reportSent) run.calendar(calendarFor(run, r, a, 'REQUEST', 'EP'));
  if (old) {
    old.status = 'superseded';
    old.decidedAt = run.now;
    cancelEvent(run, old, 'EC');
    for (const a of holders) if (!a.reportSent) run.calendar(calendarFor(run, old, a, 'CANCEL', 'EC'));
  }
  setActiveTimers(run, r);
  if (run.pending().length > 0) run.emMove('propose');
}

/** One proposal or revision is rejected (declined, withdrawn or expired). */
function rejectProposal(run: Run, p: Proposal, actor: string | null, why: string, expired = false): void {
  p.status = expired ? 'expired' : 'rejected';
  p.decidedAt = run.now;
  clearProposalTimers(run, p);
  const code: MessageCode = p.kind === 'revision' ? 'EJ' : 'ER';
  run.transition(code, actor, `${p.id} (embargo until ${p.end}) ${why}`);
  cancelEvent(run, p, code);
  const stillPending = run.pending().length > 0;
  if (run.s.em === 'PROPOSED' && !stillPending) run.emMove('reject');
  else if (run.s.em === 'REVISE' && !stillPending) run.emMove('reject');
  if (run.s.em === 'NONE') {
    for (const q of run.s.participants) q.consent = q.consent === 'DECLINED' ? 'DECLINED' : 'NO_EMBARGO';
  }
}

/** P → N: every pending proposal is rejected (CS made the case non-viable, or a fix is ready). */
function rejectAllPending(run: Run, why: string): void {
  for (const p of run.pending()) rejectProposal(run, p, null, `rejected: ${why}`);
}

/** A/R → X (ET): early termination, with iTIP CANCEL of the event in force and pending revisions. */
function terminate(run: Run, actor: string | null, why: string): void {
  const active = run.active;
  run.emMove('terminate');
  run.transition('ET', actor, `The embargo was terminated: ${why}`);
  if (active) {
    active.status = 'cancelled';
    active.decidedAt = run.now;
    cancelEvent(run, active, 'ET');
    // Newcomers invited to the terms in force hold that event too (also one that declined it: it
    // may have been re-sent the REQUEST by this very mail, a stale acceptance).
    for (const q of run.s.participants.filter(isWithheld))
      run.calendar(calendarFor(run, active, q, 'CANCEL', 'ET'));
  }
  for (const p of run.pending()) {
    p.status = 'cancelled';
    p.decidedAt = run.now;
    clearProposalTimers(run, p);
    cancelEvent(run, p, 'ET');
  }
  clearActiveTimers(run);
  embargoOver(run);
}

/**
 * The embargo is over (EXITED): consent returns to NO_EMBARGO, and newcomers still withheld from
 * the report (invited to the embargo, or having declined it) get it now: nothing binds it any more.
 */
function embargoOver(run: Run): void {
  for (const q of run.s.participants) {
    const withheld = isWithheld(q);
    q.consent = 'NO_EMBARGO';
    if (withheld) sendReport(run, q);
  }
}

/** A CS event made the case non-viable: P → N with ER, or A/R → X with ET (PROTOCOL.md §2.7). */
function teardown(run: Run, why: string, attacksOnly: boolean): void {
  if (run.s.em === 'PROPOSED') rejectAllPending(run, why);
  else if (isInForce(run.s.em) && !(attacksOnly && !run.policy.terminateOnAttacks)) terminate(run, null, why);
}

function resolveAnswered(run: Run, from: Participant, payload: Payload): Proposal | ProtocolErrorCode {
  const ref = payload.proposal ?? payload.calendar?.uid;
  if (ref !== undefined) return run.proposal(ref) ?? 'embargo-unknown-proposal';
  // A newcomer still withheld from the report answers the only thing it was sent: the terms in force.
  if (isInForce(run.s.em) && run.active && !from.reportSent && from.consent !== 'SIGNATORY')
    return run.active;
  const pending = run.pending();
  if (pending.length === 1) return pending[0] as Proposal;
  if (pending.length > 1) return 'embargo-ambiguous';
  if (isInForce(run.s.em) && run.active) return run.active;
  const last = run.s.embargo.proposals.at(-1);
  return last ?? 'embargo-no-proposal';
}

/** EA / EC (DESIGN.md §2: an EA for a revision is an EC; duplicates are idempotent). */
function accept(run: Run, from: Participant, payload: Payload): void {
  const target = resolveAnswered(run, from, payload);
  if (typeof target === 'string') return run.error(target);
  if (target.status === 'pending') {
    if (target.acceptedBy.includes(from.email)) {
      // A repeated acceptance is no transition: EK only (DESIGN.md §2, duplicates are idempotent).
      run.addLog(
        'repeat',
        from.email,
        [target.kind === 'revision' ? 'EC' : 'EA'],
        `already accepted ${target.id}`,
      );
      return;
    }
    target.acceptedBy.push(from.email);
    target.declinedBy = target.declinedBy.filter((e) => e !== from.email);
    const code: MessageCode = target.kind === 'revision' ? 'EC' : 'EA';
    const tally = `${quorumMembers(run, target).filter((m) => target.acceptedBy.includes(m.email)).length} of ${
      quorumMembers(run, target).length
    }`;
    run.transition(
      code,
      from.email,
      `${from.email} accepted ${target.id} (embargo until ${target.end}); ${tally}`,
    );
    settle(run);
    return;
  }
  if (isInForce(run.s.em) && target.id === run.s.embargo.active) {
    const before = from.consent;
    // A late acceptance of the terms still in force is honoured (PROTOCOL.md §2.9), also after a
    // decline: PEC has no DECLINED --accept--> edge, so the acceptance re-invites first.
    const invited =
      from.consent === 'DECLINED' ? (pecStep(from.consent, 'invite') ?? from.consent) : from.consent;
    from.consent = pecStep(invited, 'accept') ?? from.consent;
    if (!target.acceptedBy.includes(from.email)) target.acceptedBy.push(from.email);
    target.declinedBy = target.declinedBy.filter((e) => e !== from.email);
    if (before !== 'SIGNATORY') {
      run.transition('EA', from.email, `${from.email} accepted the embargo in force (until ${target.end})`);
      if (!from.reportSent) sendReport(run, from);
    }
    return;
  }
  // Stale: terms no longer current. Not consent; re-send what is current (PROTOCOL.md §2.9).
  run.addLog('stale', from.email, ['EA'], `acceptance of ${target.id} (${target.status}) is not consent`);
  const active = run.active;
  if (isInForce(run.s.em) && active && from.consent !== 'SIGNATORY') {
    run.calendar(calendarFor(run, active, from, 'REQUEST', 'EP'));
  }
  for (const p of run.pending()) {
    if (!p.acceptedBy.includes(from.email) && hasAccess(from)) {
      run.calendar(calendarFor(run, p, from, 'REQUEST', p.kind === 'revision' ? 'EV' : 'EP'));
    }
  }
}

/** ER / EJ: withdraw, decline, or (for an invitee) decline the embargo in force. */
function reject(run: Run, from: Participant, payload: Payload): void {
  const target = resolveAnswered(run, from, payload);
  if (typeof target === 'string') return run.error(target);
  if (target.status === 'pending') {
    if (canReject(run, target, from)) {
      const why = from.email === target.proposer ? 'withdrawn by its proposer' : `declined by ${from.email}`;
      if (!target.declinedBy.includes(from.email)) target.declinedBy.push(from.email);
      rejectProposal(run, target, from.email, why);
    } else if (!target.declinedBy.includes(from.email)) {
      target.declinedBy.push(from.email);
      target.acceptedBy = target.acceptedBy.filter((e) => e !== from.email);
      run.transition(
        target.kind === 'revision' ? 'EJ' : 'ER',
        from.email,
        `${from.email} declined ${target.id}; it stays pending`,
      );
    }
    return;
  }
  if (isInForce(run.s.em) && target.id === run.s.embargo.active) {
    if (from.consent === 'SIGNATORY') return run.error('embargo-cannot-decline-active');
    if (from.consent !== 'DECLINED') {
      from.consent = 'DECLINED';
      run.transition(
        'ER',
        from.email,
        `${from.email} declined the embargo in force; the report stays withheld from them`,
        true,
      );
    }
    return;
  }
  // A duplicate answer to a decided proposal: idempotent (DESIGN.md §2).
  run.addLog('repeat', from.email, ['ER'], `${target.id} is already ${target.status}`);
}

// ---------------------------------------------------------------------------------------
// Report management

function sendReport(run: Run, to: Participant, which: 'all' | 'latest' = 'all'): void {
  to.reportSent = true;
  if (to.rm === 'START') to.rm = 'RECEIVED';
  run.reportTo.set(to.email, which);
  run.addLog('report', null, ['RS'], `report queued to ${to.email}`);
  // Pending proposals are open to a newcomer who now has the report.
  for (const p of run.pending()) {
    if (p.proposer !== to.email)
      run.calendar(calendarFor(run, p, to, 'REQUEST', p.kind === 'revision' ? 'EV' : 'EP'));
  }
}

function handleRM(
  run: Run,
  from: Participant,
  code: MessageCode,
  payload: Payload,
  isNewReport: boolean,
): void {
  if (code === 'RK') return;
  if (code === 'RE') {
    run.ack('RK');
    run.ack('GI');
    return;
  }
  if (code === 'RS') {
    if (isNewReport) {
      run.transition('RS', from.email, `New report: ${run.s.title}`);
      for (const c of run.s.participants) if (c !== from && c.engaged && !c.undeliverable) sendReport(run, c);
    } else {
      if (!from.reportSent) return run.error('report-needs-report');
      run.transition('RS', from.email, `${from.email} added a report to the case`);
      for (const c of run.s.participants) if (c !== from && hasAccess(c)) run.reportTo.set(c.email, 'latest');
      // Report submission while a proposal is pending binds the sender to it (PROTOCOL.md §2.6).
      for (const p of run.pending()) if (!p.acceptedBy.includes(from.email)) p.acceptedBy.push(from.email);
      settle(run);
    }
    run.ack('RK');
    return;
  }
  const target = RM_TARGET_OF[code];
  if (!target) return;
  if (from.rm === 'START') return run.error('report-unknown');
  const move = rmMove(from.rm, target);
  if (move.kind === 'refused') return run.error('rm-backward', { detail: `On record: ${from.rm}.` });
  if (move.kind === 'same') {
    run.addLog('repeat', from.email, [code], `already ${target}`);
    run.ack('RK');
    return;
  }
  if (code === 'RC' && isInForce(run.s.em)) {
    if (payload.adherence === undefined) return run.error('close-needs-adherence');
  }
  if (move.kind === 'jump') {
    run.addLog('forward-jump', from.email, [code], `${from.rm} → ${move.path.join(' → ')}`);
  }
  from.rm = move.to;
  let text = `${from.email}: report ${target.toLowerCase()}`;
  if (code === 'RC' && payload.adherence !== undefined) {
    from.embargoAdherence = payload.adherence === 'adhere';
    text += from.embargoAdherence ? ', will keep to the embargo' : ', will NOT keep to the embargo';
    if (!from.embargoAdherence && isInForce(run.s.em))
      alertCoordinators(run, [`${from.email} closed the report and will not keep to the embargo in force.`]);
  }
  run.transition(code, from.email, text);
  run.ack('RK');
  // A CLOSED participant leaves every quorum: pending proposals may now be accepted (as on /leave).
  if (from.rm === 'CLOSED') settle(run);
}

// ---------------------------------------------------------------------------------------
// Embargo messages

/** Runs an EM handler; EK unless it answered with an error or a refusal of its own. */
function ackUnlessAnswered(run: Run, handle: () => void): void {
  const before = run.replies.length;
  handle();
  if (run.replies.length === before) run.ack('EK');
}

function handleEM(run: Run, from: Participant, code: MessageCode, payload: Payload): void {
  switch (code) {
    case 'EK':
      return;
    case 'EE':
      run.ack('EK');
      run.ack('GI');
      return;
    case 'EP':
    case 'EV':
      return ackUnlessAnswered(run, () => propose(run, from, code, payload));
    case 'EA':
    case 'EC':
      return ackUnlessAnswered(run, () => accept(run, from, payload));
    case 'ER':
    case 'EJ':
      return ackUnlessAnswered(run, () => reject(run, from, payload));
    case 'ET': {
      const allowed = isCoordinator(from) || isVendor(from) || from.roles.includes('reporter');
      if (run.s.em === 'EXITED') {
        run.addLog('repeat', from.email, ['ET'], 'the embargo has already ended');
        run.ack('EK');
        return;
      }
      if (!isInForce(run.s.em)) return run.error('embargo-nothing-to-terminate');
      if (!allowed) return run.error('embargo-terminate-not-allowed');
      terminate(run, from.email, payload.reason?.trim() || `requested by ${from.email}`);
      run.ack('EK');
      return;
    }
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------
// Case state messages

function handleCS(run: Run, from: Participant, code: MessageCode, payload: Payload): void {
  switch (code) {
    case 'CK':
      return;
    case 'CE':
      run.ack('CK');
      run.ack('GI');
      return;
    case 'CV':
    case 'CF':
    case 'CD':
      return participantEvent(run, from, code, payload);
    case 'CP':
    case 'CX':
    case 'CA':
      return globalEvent(run, from, code, payload);
    default:
      return;
  }
}

/** CV / CF / CD: the sender's own vfd/d, or a coordinator's relay for a named participant. */
function participantEvent(run: Run, from: Participant, code: 'CV' | 'CF' | 'CD', payload: Payload): void {
  let subject = from;
  if (payload.vendor !== undefined && normEmail(payload.vendor) !== from.email) {
    if (!isCoordinator(from)) return run.error('cs-relay-not-allowed');
    const named = run.participant(payload.vendor);
    if (!named || !(isVendor(named) || (code === 'CD' && isDeployer(named))))
      return run.error('cs-unknown-vendor');
    subject = named;
  }
  const relay = subject !== from ? ` (relayed by ${from.email})` : '';
  if (code === 'CD' && !isVendor(subject)) {
    if (!isDeployer(subject)) return run.error('cs-not-deployer');
    if (!subject.deployed) {
      subject.deployed = true;
      run.transition('CD', from.email, `${subject.email} deployed the fix${relay}`);
    }
    run.ack('CK');
    return;
  }
  if (!isVendor(subject) || subject.vfd === null)
    return run.error(code === 'CD' ? 'cs-not-deployer' : 'cs-not-vendor');
  const event = code === 'CV' ? 'V' : code === 'CF' ? 'F' : 'D';
  if (vfdHas(subject.vfd, event)) {
    run.addLog('repeat', from.email, [code], `${subject.email} is already ${subject.vfd}`);
    run.ack('CK');
    return;
  }
  const next = vfdApply(subject.vfd, event);
  if (csNext(`${subject.vfd}pxa`, event) === undefined) {
    run.addLog('forward-jump', from.email, [code], `${subject.email}: ${subject.vfd} → ${next}`);
  }
  subject.vfd = next;
  if (event === 'D') subject.deployed = true;
  if (
    subject === from &&
    (event === 'F' || event === 'D') &&
    ['RECEIVED', 'INVALID', 'VALID'].includes(from.rm)
  ) {
    const move = rmMove(from.rm, 'ACCEPTED');
    if (move.kind === 'jump' || move.kind === 'step') {
      run.addLog(
        'forward-jump',
        from.email,
        ['RA'],
        `${from.rm} → ACCEPTED (a fix implies an accepted report)`,
      );
      from.rm = 'ACCEPTED';
    }
  }
  const what = { V: 'is aware of the report', F: 'has a fix ready', D: 'deployed the fix' }[event];
  // The actor is the sender, also for a relay: the transition is its mail's own code (DESIGN.md §2
  // "What goes out": the acknowledgement carries only transitions beyond the mail's own).
  run.transition(code, from.email, `${subject.email} ${what}${relay}`);
  if (event === 'F' && run.policy.rejectPendingOnFixReady && run.s.em === 'PROPOSED') {
    rejectAllPending(run, `a fix is ready (${subject.email})`);
  }
  run.ack('CK');
}

/** CP / CX / CA: global facts (PROTOCOL.md §3.3, §5.7; DESIGN.md §2 decisions). */
function globalEvent(run: Run, from: Participant, code: 'CP' | 'CX' | 'CA', payload: Payload): void {
  const event: PXAEvent = code === 'CP' ? 'P' : code === 'CX' ? 'X' : 'A';
  const why = payload.reason?.trim();
  if (pxaHas(run.s.pxa, event)) {
    run.addLog('repeat', from.email, [code], `already ${run.s.pxa}`);
    run.ack('CK');
    return;
  }
  const hadP = pxaHas(run.s.pxa, 'P');
  run.s.pxa = pxaApply(run.s.pxa, event);
  const what = { P: 'The vulnerability is public', X: 'An exploit is public', A: 'Attacks were observed' }[
    event
  ];
  run.transition(code, from.email, `${what}${why ? `: ${why}` : ''}`);
  if (event === 'A' && run.policy.attacksImplyPublic && !hadP) run.s.pxa = pxaApply(run.s.pxa, 'P');
  if (!hadP && pxaHas(run.s.pxa, 'P') && event !== 'P') {
    run.transition('CP', null, 'The vulnerability is public');
  }
  const publicNow = pxaHas(run.s.pxa, 'P');
  teardown(run, `${what.toLowerCase()}${why ? ` (${why})` : ''}`, event === 'A' && !publicNow);
  if (event === 'A' && !publicNow && run.s.em === 'PROPOSED') rejectAllPending(run, 'attacks were observed');
  run.ack('CK');
}

// ---------------------------------------------------------------------------------------
// General messages and membership

function handleGeneral(run: Run, from: Participant, code: MessageCode, payload: Payload): void {
  switch (code) {
    case 'GK':
      return;
    case 'GE':
      run.ack('GK');
      run.ack('GI');
      return;
    case 'GI':
      if (payload.calendar?.method === 'REFRESH') {
        // An iTIP REFRESH: the event goes to the sender again (once every change of this mail is
        // applied, see decide()); nothing is relayed to others.
        if (!payload.status && !payload.help) return;
      }
      if (payload.status) {
        run.replies.push({ kind: 'status', types: ['GK'], data: { transitions: [] } });
      } else if (payload.help) {
        run.replies.push({ kind: 'help', types: ['GI'], data: { transitions: [] } });
      } else if (!payload.invite && !payload.remove && !payload.leave) {
        run.transition('GI', from.email, `Message from ${from.email}`);
        run.ack('GK');
      }
      return;
    default:
      return;
  }
}

/**
 * iTIP REFRESH (PROTOCOL.md §6.3 "Resync"): the current version of one event, to the sender only,
 * on a mail of its own whose types are the event's code. The embargo in force is re-sent as
 * confirmed (or, to an invitee who has not accepted it, as the invitation), a pending proposal
 * as the invitation, and a decided one as what it became (its CANCEL).
 */
function refresh(run: Run, from: Participant, uid: string): void {
  const p = run.proposal(uid);
  const current = p !== undefined && isInForce(run.s.em) && run.s.embargo.active === p.id;
  // An invitee without the report knows only the embargo in force (DESIGN.md §2 "Confidentiality").
  if (!p || (!from.reportSent && !current)) return run.error('embargo-unknown-proposal');
  run.addLog('refresh', from.email, [], `${p.id} (${p.status}) sent again to ${from.email}`);
  if (current && from.consent === 'INVITED') {
    run.calendar(calendarFor(run, p, from, 'REQUEST', 'EP'));
  } else if (p.status === 'accepted') {
    run.calendar(calendarFor(run, p, from, 'REQUEST', p.kind === 'revision' ? 'EC' : 'EA'));
  } else if (p.status === 'pending') {
    run.calendar(calendarFor(run, p, from, 'REQUEST', p.kind === 'revision' ? 'EV' : 'EP'));
  } else {
    const code: MessageCode =
      p.status === 'superseded'
        ? 'EC'
        : p.status === 'cancelled'
          ? 'ET'
          : p.kind === 'revision'
            ? 'EJ'
            : 'ER';
    run.calendar(calendarFor(run, p, from, 'CANCEL', code));
  }
}

function membership(run: Run, from: Participant, payload: Payload): void {
  if (payload.invite) invite(run, from, payload.invite);
  if (payload.remove !== undefined) remove(run, from, payload.remove);
  if (payload.leave) leave(run, from, payload.adherence);
}

function invite(run: Run, from: Participant, inv: NonNullable<Payload['invite']>): void {
  if (!isCoordinator(from)) return run.error('general-not-coordinator');
  const email = normEmail(inv.email);
  let p = run.participant(email);
  // An address marked undeliverable may be invited again (the admin fixed it): the flag is reset.
  if (p?.engaged && !p.undeliverable) return run.error('general-already-participant', { detail: email });
  if (p?.undeliverable) {
    p.undeliverable = false;
    run.addLog('membership', from.email, [], `${email} is deliverable again`);
  }
  const maxDays = inv.maxEmbargoDays ?? p?.maxEmbargoDays ?? null;
  const active = run.active;
  if (isInForce(run.s.em) && active && maxDays !== null && ms(active.end) > ms(run.now) + maxDays * DAY_MS) {
    const from_ = iso(ms(active.end) - maxDays * DAY_MS);
    return run.error('embargo-invite-too-long', {
      date: from_,
      detail: `${email} accepts at most ${maxDays} days; the embargo ends ${active.end}, so they can be invited from ${from_}.`,
    });
  }
  if (p) {
    p.engaged = true;
    if (!p.roles.includes(inv.role)) p.roles.push(inv.role);
    if (p.roles.includes('vendor') && p.vfd === null) p.vfd = 'vfd';
  } else {
    p = newParticipant(email, [inv.role], run.now, { name: inv.name ?? null, maxEmbargoDays: maxDays });
    run.s.participants.push(p);
  }
  run.addLog('membership', from.email, [], `${from.email} invited ${email} as ${inv.role}`);
  run.ack('GK');
  if (isVendor(p)) {
    run.setTimer({
      id: `vendor-response:${email}`,
      kind: 'vendor-response',
      due: iso(ms(run.now) + run.policy.vendorResponseDays * DAY_MS),
      ref: email,
    });
  }
  if (isInForce(run.s.em) && active && !p.reportSent) {
    // The existing embargo first; the report is withheld until the invitee accepts (PROTOCOL.md §2.6).
    p.consent = 'INVITED';
    run.calendar({ ...calendarFor(run, active, p, 'REQUEST', 'EP'), partstat: 'NEEDS-ACTION' });
    run.addLog('withheld', null, [], `report withheld from ${email} until they accept the embargo in force`);
    return;
  }
  if (!p.reportSent) sendReport(run, p);
}

function remove(run: Run, from: Participant, email: string): void {
  if (!isCoordinator(from)) return run.error('general-not-coordinator');
  const p = run.participant(email);
  if (!p || !p.engaged) return run.error('general-unknown-participant', { detail: normEmail(email) });
  p.engaged = false;
  run.clearTimer(`vendor-response:${p.email}`);
  run.addLog('membership', from.email, [], `${from.email} removed ${p.email}`);
  run.ack('GK');
  settle(run);
}

function leave(run: Run, from: Participant, adherence: Payload['adherence']): void {
  from.engaged = false;
  from.embargoAdherence = adherence !== 'no-adhere';
  run.clearTimer(`vendor-response:${from.email}`);
  run.addLog(
    'membership',
    from.email,
    [],
    `${from.email} left the case${adherence ? ` (${adherence === 'adhere' ? 'keeps to' : 'will NOT keep to'} the embargo)` : ''}`,
  );
  if (adherence === 'no-adhere' && isInForce(run.s.em)) {
    alertCoordinators(run, [`${from.email} left the case and will NOT keep to the embargo in force.`]);
  }
  run.ack('GK');
  settle(run);
}

function alertCoordinators(run: Run, lines: string[]): void {
  for (const c of run.s.participants) {
    // hasAccess: a coordinator still INVITED to the embargo in force gets only the invitation.
    if (isCoordinator(c) && hasAccess(c) && c.email !== run.sender) {
      run.direct.push({
        to: c.email,
        reply: { kind: 'alert', types: ['GI'], data: { transitions: [], lines } },
      });
    }
  }
  run.addLog('alert', null, ['GI'], lines.join(' '));
}

// ---------------------------------------------------------------------------------------
// Timers and delivery failures

function onTimer(run: Run, t: TimerRef): void {
  const active = run.active;
  switch (t.kind) {
    case 'embargo-expiry': {
      if (!isInForce(run.s.em) || !active || active.id !== t.ref || ms(active.end) > ms(run.now)) {
        run.addLog('timer-stale', null, [], `${t.id} for ${t.ref}: nothing to do`);
        return;
      }
      run.emMove('terminate');
      run.transition('ET', null, `The embargo ended at ${active.end}`);
      for (const p of run.pending()) {
        p.status = 'cancelled';
        p.decidedAt = run.now;
        clearProposalTimers(run, p);
        cancelEvent(run, p, 'ET');
      }
      clearActiveTimers(run);
      embargoOver(run);
      return;
    }
    case 'embargo-reminder': {
      if (!isInForce(run.s.em) || !active || active.id !== t.ref) return;
      const lines = [`Reminder: the embargo of ${run.s.id} ends ${active.end}.`];
      for (const p of run.s.participants) {
        if (hasAccess(p))
          run.direct.push({
            to: p.email,
            reply: { kind: 'reminder', types: ['GI'], data: { transitions: [], lines, date: active.end } },
          });
      }
      run.addLog('reminder', null, ['GI'], lines[0] as string);
      return;
    }
    case 'rsvp-deadline': {
      const p = run.proposal(t.ref);
      if (!p || p.status !== 'pending') return;
      rejectProposal(run, p, null, 'expired: not every participant answered by the RSVP deadline', true);
      return;
    }
    case 'rsvp-reminder': {
      const p = run.proposal(t.ref);
      if (!p || p.status !== 'pending') return;
      const lines = [`Please answer embargo proposal ${p.id} (until ${p.end}) by ${p.rsvpDeadline}.`];
      for (const m of quorumMembers(run, p)) {
        if (!p.acceptedBy.includes(m.email) && !p.declinedBy.includes(m.email)) {
          run.direct.push({
            to: m.email,
            reply: {
              kind: 'reminder',
              types: ['GI'],
              data: { transitions: [], lines, date: p.rsvpDeadline },
            },
          });
        }
      }
      run.addLog('reminder', null, ['GI'], lines[0] as string);
      return;
    }
    case 'vendor-response': {
      const v = run.participant(t.ref);
      if (!v || !v.engaged || v.vfd !== 'vfd') return;
      // Any mail of theirs to the case is an answer (one sent while withheld from the report too).
      const wrote = run.s.log.some((e) => e.kind === 'inbound' && e.from === v.email && e.at >= v.joinedAt);
      if (wrote) return;
      alertCoordinators(run, [
        `${v.email} (vendor) has sent nothing to the case since invited on ${v.joinedAt}`,
      ]);
      return;
    }
  }
}

function onDeliveryFailure(run: Run, input: Extract<Input, { kind: 'delivery-failure' }>): void {
  const p = run.participant(input.to);
  if (!p) {
    run.addLog(
      'bounce',
      null,
      input.types,
      `delivery failure for a non-participant ${input.to}: ${input.detail}`,
    );
    return;
  }
  if (!input.permanent) {
    run.addLog('bounce', p.email, input.types, `temporary delivery failure: ${input.detail}`);
    return;
  }
  p.undeliverable = true;
  if (input.types.includes('RS') && p.vfd === 'vfd') {
    // The report never reached them: not aware, and not RECEIVED either.
    p.reportSent = false;
    if (p.rm === 'RECEIVED') p.rm = 'START';
  }
  run.addLog('bounce', p.email, input.types, `undeliverable: ${input.detail}`);
  alertCoordinators(run, [
    `Mail to ${p.email} failed permanently (${input.detail}). The address is marked undeliverable.`,
  ]);
  settle(run);
}

// ---------------------------------------------------------------------------------------
// Turning what happened into mails

const FAMILY_HANDLERS = {
  RM: handleRM,
  EM: handleEM,
  CS: handleCS,
  GENERAL: handleGeneral,
} as const;

function finish(run: Run, input: Input): Effect[] {
  const effects: Effect[] = [];
  const mailTo = (to: string, r: Reply, replyToInbound: boolean) => {
    // Disengaged participants get nothing further (DESIGN.md §2), also when they were removed or
    // left in this very step; the sender still gets the answer to its own mail.
    if (to !== run.sender && run.participant(to)?.engaged !== true) return;
    effects.push({
      type: 'mail',
      kind: r.kind,
      to,
      types: uniqueCodes(r.types),
      replyToInbound,
      calendar: r.calendar ?? null,
      data: r.data,
    });
  };
  const visible = (p: Participant) =>
    run.transitions
      .filter((t) => !t.coordinatorsOnly || isCoordinator(p))
      .map(({ code, actor, text }) => ({ code, actor, text }));
  const withNote = (data: MailEffect['data']) => (run.note ? { ...data, note: run.note } : data);
  const ridesOn = (to: string, r: Reply) => {
    const cals = run.calendars.get(to);
    if (!cals || r.calendar) return;
    const i = cals.findIndex((c) => r.types.includes(c.code));
    if (i >= 0) r.calendar = cals.splice(i, 1)[0];
  };

  // A participant disengaged by now (removed, or left with this very mail) holds no embargo event.
  for (const to of [...run.calendars.keys()])
    if (run.participant(to)?.engaged !== true) run.calendars.delete(to);

  const sender = run.sender;
  if (sender !== null && (input.kind === 'message' || input.kind === 'report')) {
    if (!run.noReply) {
      const caused = run.transitions.filter((t) => t.actor !== sender).map((t) => t.code);
      const types = [...run.ackCodes, ...caused];
      if (run.ackCodes.length > 0 || caused.length > 0) {
        const ack: Reply = {
          kind: 'ack',
          types,
          data: withNote({ transitions: visible(run.participant(sender) as Participant) }),
        };
        ridesOn(sender, ack);
        mailTo(sender, ack, true);
      }
      for (const r of run.replies) mailTo(sender, r, true);
    }
  }

  for (const p of run.s.participants) {
    const report = run.reportTo.get(p.email);
    if (p.email === sender) {
      // A newcomer who accepted the embargo in force gets the report now.
      if (report)
        mailTo(p.email, { kind: 'report', types: ['RS'], data: { transitions: [], report } }, false);
      continue;
    }
    const notes = hasAccess(p) || report ? visible(p) : [];
    if (report) {
      const r: Reply = {
        kind: 'report',
        types: ['RS', ...notes.map((t) => t.code)],
        data: withNote({ transitions: notes, report }),
      };
      ridesOn(p.email, r);
      mailTo(p.email, r, false);
    } else if (notes.length > 0 && hasAccess(p)) {
      const kind: MailKind =
        input.kind === 'timer' && notes.some((t) => t.code === 'ET') ? 'expiry' : 'notification';
      const r: Reply = { kind, types: notes.map((t) => t.code), data: withNote({ transitions: notes }) };
      ridesOn(p.email, r);
      mailTo(p.email, r, false);
    }
  }

  for (const d of run.direct) mailTo(d.to, d.reply, false);

  // Calendar objects that did not ride on a mail get one of their own.
  for (const [to, cals] of run.calendars) {
    for (const c of cals) {
      mailTo(to, { kind: 'invitation', types: [c.code], calendar: c, data: { transitions: [] } }, false);
    }
  }
  // One timer effect per id: the last one wins (set then cleared in one step = cleared).
  const timers = new Map<string, Effect>();
  for (const t of run.timers) {
    const id = t.type === 'timer-set' ? t.timer.id : t.type === 'timer-clear' ? t.id : '';
    timers.delete(id);
    timers.set(id, t);
  }
  return [...effects, ...timers.values()];
}

// ---------------------------------------------------------------------------------------
// decide()

/** Codes of a flag set in application order: RM → EM → CS → general (PROTOCOL.md §8). */
export function applicationOrder(codes: readonly MessageCode[]): MessageCode[] {
  const set = new Set(codes);
  return FAMILY_ORDER.flatMap((f) => MESSAGE_CODES.filter((c) => familyOf(c) === f && set.has(c)));
}

export function decide(snapshot: CaseSnapshot, input: Input, ctx: Context): Decision {
  const sender = input.kind === 'message' ? input.from : input.kind === 'report' ? input.from.email : null;
  const run = new Run(snapshot, ctx, sender);

  if (input.kind === 'timer') {
    run.addLog('timer', null, [], `${input.timer.kind} ${input.timer.ref}`);
    onTimer(run, input.timer);
  } else if (input.kind === 'delivery-failure') {
    onDeliveryFailure(run, input);
  } else {
    let from: Participant | undefined;
    if (input.kind === 'report') {
      from = run.participant(input.from.email);
      if (!from) {
        from = newParticipant(input.from.email, ['reporter'], run.now, {
          name: input.from.name ?? null,
          rm: 'ACCEPTED',
        });
        run.s.participants.push(from);
      } else if (!from.roles.includes('reporter')) {
        from.roles.push('reporter');
      }
      from.reportSent = true;
      if (from.rm === 'START' || from.rm === 'RECEIVED') from.rm = 'ACCEPTED';
    } else {
      from = run.participant(input.from);
    }
    const codes = input.kind === 'report' ? uniqueCodes(['RS', ...input.codes]) : uniqueCodes(input.codes);
    if (!from) {
      run.addLog('refused', run.sender, codes, 'sender is not a participant of this case');
      return result(run, input, false);
    }
    if (input.kind === 'message' && (from.rm === 'CLOSED' || !from.engaged)) {
      run.addLog(
        'ignored',
        from.email,
        codes,
        from.rm === 'CLOSED' ? 'the sender closed its report' : 'the sender left the case',
      );
      return result(run, input, false);
    }
    run.noReply = input.noReply === true;
    const text = input.payload.text?.trim();
    if (text) run.note = text;
    run.addLog('inbound', from.email, codes, codes.length > 0 ? codes.join('+') : 'no codes');

    // Awareness: a vendor's first own mail after the report reached it (DESIGN.md §2).
    if (input.kind === 'message' && from.vfd === 'vfd' && from.reportSent && !codes.includes('CV')) {
      from.vfd = 'Vfd';
      run.transition('CV', from.email, `${from.email} is aware of the report`);
    }
    for (const code of applicationOrder(codes)) {
      FAMILY_HANDLERS[familyOf(code)](run, from, code, input.payload, input.kind === 'report');
    }
    membership(run, from, input.payload);
    // Last, so that it sends the event as this very mail left it (e.g. accepted by a /remove).
    if (codes.includes('GI') && input.payload.calendar?.method === 'REFRESH') {
      refresh(run, from, input.payload.calendar.uid);
    }
  }
  return result(run, input, true);
}

function result(run: Run, input: Input, applied: boolean): Decision {
  const effects = applied ? finish(run, input) : [];
  run.s.log.push(...run.log);
  return { snapshot: run.s, effects, log: run.log, applied };
}
