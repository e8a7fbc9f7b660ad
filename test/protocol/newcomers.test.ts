/** Regression tests: newcomers invited into an embargo in force (DESIGN.md §2 "Confidentiality"). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, decide, newCase } from '../../src/protocol/index.js';
import type { CaseSnapshot, Input, MailEffect } from '../../src/protocol/index.js';

const C = 'coord@cert.example';
const R = 'finder@r.example';
const V1 = 'psirt@v1.example';
const V2 = 'psirt@v2.example';

function play(steps: Array<[string, Input]>): { s: CaseSnapshot; last: MailEffect[] } {
  let s = newCase({
    id: 'VM-2026-0001',
    title: 'T',
    now: '2026-12-01T10:00:00Z',
    domain: 'bot.example',
    coordinators: [{ email: C }],
  });
  let last: MailEffect[] = [];
  for (const [now, input] of steps) {
    const d = decide(s, input, { now, policy: DEFAULT_POLICY });
    s = d.snapshot;
    last = d.effects.filter((e): e is MailEffect => e.type === 'mail');
  }
  return { s, last };
}

const report: [string, Input] = [
  '2026-12-01T10:00:00Z',
  {
    kind: 'report',
    from: { email: R },
    codes: ['RS', 'EP'],
    payload: { embargoEnd: '2027-01-15T23:59:59Z' },
  },
];
const invite = (email: string): [string, Input] => [
  '2026-12-01T11:00:00Z',
  { kind: 'message', from: C, codes: ['GI'], payload: { invite: { email, role: 'vendor' } } },
];
const mails = (m: MailEffect[]) => m.map((e) => `${e.kind} ${e.to} ${e.types.join(',')}`).sort();

describe('newcomers to an embargo in force', () => {
  it('a withheld newcomer who never answered gets the report when the embargo is terminated', () => {
    const { s, last } = play([
      report,
      invite(V1),
      [
        '2026-12-02T10:00:00Z',
        { kind: 'message', from: R, codes: ['ET'], payload: { reason: 'fix shipped' } },
      ],
    ]);
    expect(s.em).toBe('EXITED');
    const v1 = s.participants.find((p) => p.email === V1);
    expect([v1?.rm, v1?.reportSent, v1?.consent]).toEqual(['RECEIVED', true, 'NO_EMBARGO']);
    expect(mails(last)).toEqual([
      `ack ${R} EK`,
      `invitation ${R} ET`,
      `notification ${C} ET`,
      `report ${V1} RS,ET`,
    ]);
  });

  it('a newcomer who declined gets the report when the embargo expires', () => {
    const { s, last } = play([
      report,
      invite(V1),
      ['2026-12-01T12:00:00Z', { kind: 'message', from: V1, codes: ['ER'], payload: {} }],
      [
        '2027-01-16T00:00:00Z',
        {
          kind: 'timer',
          timer: { id: 'embargo-expiry', kind: 'embargo-expiry', due: '2027-01-15T23:59:59Z', ref: 'E1' },
        },
      ],
    ]);
    expect(s.em).toBe('EXITED');
    expect(s.participants.find((p) => p.email === V1)?.reportSent).toBe(true);
    expect(mails(last)).toContain(`report ${V1} RS,ET`);
  });

  it('an unreferenced /embargo accept from a withheld newcomer answers the terms in force, not a pending revision', () => {
    const { s } = play([
      report,
      invite(V1),
      [
        '2026-12-01T11:30:00Z',
        { kind: 'message', from: C, codes: ['EV'], payload: { embargoEnd: '2027-01-30T23:59:59Z' } },
      ],
      invite(V2),
      ['2026-12-01T12:00:00Z', { kind: 'message', from: V2, codes: ['EA'], payload: {} }],
    ]);
    const v2 = s.participants.find((p) => p.email === V2);
    expect([v2?.consent, v2?.reportSent]).toEqual(['SIGNATORY', true]);
    expect(s.embargo.proposals.find((p) => p.id === 'E1')?.acceptedBy).toContain(V2);
    expect(s.embargo.proposals.find((p) => p.id === 'E2')?.acceptedBy).not.toContain(V2);
  });

  it('an address marked undeliverable may be invited again: the flag is reset and the report re-sent', () => {
    const { s, last } = play([
      ['2026-12-01T10:00:00Z', { kind: 'report', from: { email: R }, codes: ['RS'], payload: {} }],
      invite(V1),
      [
        '2026-12-01T11:10:00Z',
        { kind: 'delivery-failure', to: V1, permanent: true, types: ['RS'], detail: '5.1.1' },
      ],
      invite(V1),
    ]);
    const v1 = s.participants.find((p) => p.email === V1);
    expect([v1?.undeliverable, v1?.reportSent, v1?.rm]).toEqual([false, true, 'RECEIVED']);
    expect(mails(last)).toEqual([`ack ${C} GK`, `report ${V1} RS`]);
  });

  it('the vendor-response reminder is not sent for a vendor who wrote to the case while withheld', () => {
    const timer: [string, Input] = [
      '2026-12-08T11:00:00Z',
      {
        kind: 'timer',
        timer: { id: `vendor-response:${V1}`, kind: 'vendor-response', due: '2026-12-08T11:00:00Z', ref: V1 },
      },
    ];
    const silent = play([report, invite(V1), timer]);
    expect(mails(silent.last)).toEqual([`alert ${C} GI`]);
    const answered = play([
      report,
      invite(V1),
      ['2026-12-01T12:00:00Z', { kind: 'message', from: V1, codes: ['ER'], payload: {} }],
      timer,
    ]);
    expect(answered.s.participants.find((p) => p.email === V1)?.vfd).toBe('vfd');
    expect(mails(answered.last)).toEqual([]);
  });
});
