/**
 * iTIP REFRESH in the core (PROTOCOL.md §6.3 "Resync", DESIGN.md §4): a GI whose payload.calendar
 * is a REFRESH sends the current version of that one event to the sender, on a mail of its own
 * whose types are the event's code, and relays nothing to the others.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, decide, newCase } from '../../src/protocol/index.js';
import type {
  CaseSnapshot,
  Decision,
  Input,
  MailEffect,
  MessageCode,
  Payload,
} from '../../src/protocol/index.js';

const COORDINATOR = 'coordinator@example.org';
const REPORTER = 'finder@example.net';
const VENDOR = 'psirt@vendor.example';
const NEWCOMER = 'security@vendor2.example';
const T0 = '2026-03-02T10:00:00Z';
const END = '2026-04-15T23:59:59Z';
const LATER_END = '2026-04-30T23:59:59Z';

function step(s: CaseSnapshot, input: Input, now = T0): Decision {
  return decide(s, input, { now, policy: DEFAULT_POLICY });
}

function msg(from: string, codes: MessageCode[], payload: Payload = {}): Input {
  return { kind: 'message', from, codes, payload };
}

const mails = (d: Decision) => d.effects.filter((e): e is MailEffect => e.type === 'mail');

function refresh(uid: string, text?: string): Input {
  return msg(VENDOR, ['GI'], { calendar: { method: 'REFRESH', uid }, ...(text ? { text } : {}) });
}

/** A case with a reporter, an aware vendor with the report, and E1 proposed by the reporter. */
function withProposal(): CaseSnapshot {
  let s = newCase({
    id: 'VM-2026-0001',
    title: 'Heap overflow',
    now: T0,
    domain: 'example.org',
    coordinators: [{ email: COORDINATOR }],
  });
  s = step(s, { kind: 'report', from: { email: REPORTER }, codes: ['RS'], payload: {} }).snapshot;
  s = step(s, msg(COORDINATOR, ['GI'], { invite: { email: VENDOR, role: 'vendor' } })).snapshot;
  s = step(s, msg(VENDOR, ['CV'])).snapshot;
  s = step(s, msg(REPORTER, ['EP'], { embargoEnd: END })).snapshot;
  expect(s.em).toBe('PROPOSED');
  return s;
}

describe('REFRESH', () => {
  it('a pending proposal: its REQUEST (TENTATIVE, NEEDS-ACTION) to the sender alone, types [EP], no GI relay', () => {
    const s = withProposal();
    const d = step(s, refresh('VM-2026-0001-EMBARGO-1@EXAMPLE.ORG', 'please send it again'));
    expect(d.applied).toBe(true);
    const out = mails(d);
    expect(out).toHaveLength(1);
    const [m] = out as [MailEffect];
    expect(m).toMatchObject({ to: VENDOR, kind: 'invitation', types: ['EP'], replyToInbound: false });
    expect(m.calendar).toMatchObject({
      method: 'REQUEST',
      uid: 'VM-2026-0001-embargo-1@example.org',
      status: 'TENTATIVE',
      partstat: 'NEEDS-ACTION',
      attendee: VENDOR,
      end: END,
      sequence: 0,
    });
    expect(out.some((e) => e.types.includes('GI'))).toBe(false);
    expect(d.snapshot.embargo).toEqual(s.embargo);
    expect(d.log.some((l) => l.kind === 'refresh' && l.from === VENDOR)).toBe(true);
  });

  it('the embargo in force: the CONFIRMED REQUEST with the sender ACCEPTED, types [EA]', () => {
    let s = withProposal();
    s = step(s, msg(VENDOR, ['EA'], { proposal: 'E1' })).snapshot;
    expect(s.em).toBe('ACTIVE');
    const out = mails(step(s, refresh('VM-2026-0001-embargo-1@example.org')));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ to: VENDOR, types: ['EA'] });
    expect(out[0]?.calendar).toMatchObject({ method: 'REQUEST', status: 'CONFIRMED', partstat: 'ACCEPTED' });
  });

  it('an invitee to the embargo in force gets the invitation again, and nothing about other events', () => {
    let s = withProposal();
    s = step(s, msg(VENDOR, ['EA'], { proposal: 'E1' })).snapshot;
    s = step(s, msg(VENDOR, ['EV'], { embargoEnd: LATER_END })).snapshot;
    s = step(s, msg(COORDINATOR, ['GI'], { invite: { email: NEWCOMER, role: 'vendor' } })).snapshot;
    const asNewcomer = (uid: string): Input =>
      msg(NEWCOMER, ['GI'], { calendar: { method: 'REFRESH', uid } });

    const active = mails(step(s, asNewcomer('VM-2026-0001-embargo-1@example.org')));
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({ to: NEWCOMER, types: ['EP'] });
    expect(active[0]?.calendar).toMatchObject({
      method: 'REQUEST',
      status: 'CONFIRMED',
      partstat: 'NEEDS-ACTION',
    });

    const revision = mails(step(s, asNewcomer('VM-2026-0001-embargo-2@example.org')));
    expect(revision).toHaveLength(1);
    expect(revision[0]).toMatchObject({ to: NEWCOMER, kind: 'error', types: ['EE', 'GI'], calendar: null });
    expect(revision[0]?.data.error?.code).toBe('embargo-unknown-proposal');
  });

  it('a superseded event: its CANCEL again (types [EC]); an unknown UID: an error', () => {
    let s = withProposal();
    s = step(s, msg(VENDOR, ['EA'], { proposal: 'E1' })).snapshot;
    s = step(s, msg(REPORTER, ['EV'], { embargoEnd: LATER_END })).snapshot;
    s = step(s, msg(VENDOR, ['EC'], { proposal: 'E2' })).snapshot;
    expect(s.embargo.active).toBe('E2');
    expect(s.embargo.proposals[0]?.status).toBe('superseded');

    const old = mails(step(s, refresh('VM-2026-0001-embargo-1@example.org')));
    expect(old).toHaveLength(1);
    expect(old[0]).toMatchObject({ to: VENDOR, types: ['EC'] });
    expect(old[0]?.calendar).toMatchObject({ method: 'CANCEL', status: 'CANCELLED', sequence: 1 });

    const unknown = mails(step(s, refresh('VM-2026-0001-embargo-9@example.org')));
    expect(unknown).toHaveLength(1);
    expect(unknown[0]).toMatchObject({ kind: 'error', types: ['EE', 'GI'] });
  });
});
