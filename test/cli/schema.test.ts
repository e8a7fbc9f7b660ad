/**
 * `vultron-mail schema` and the zod schemas behind it (src/case/schemas.ts). Snapshots produced
 * by decide() must validate strictly against CaseSnapshotSchema, so that the schema cannot drift
 * from the snapshot silently (the type assertions in schemas.ts catch drift at compile time).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseSnapshotSchema, InputSchema } from '../../src/case/schemas.js';
import { DEFAULT_POLICY, EM_STATES, MESSAGE_CODES, decide, newCase } from '../../src/protocol/index.js';
import type {
  CaseSnapshot,
  Decision,
  Input,
  MessageCode,
  Payload,
  TimerRef,
} from '../../src/protocol/index.js';
import type { Sandbox } from './helpers.js';
import { NOW, jsonOf, run, sandbox } from './helpers.js';

const COORD = 'coord@cvd.example.org';
const FINDER = 'finder@example.net';
const VENDOR = 'psirt@vendor.example';
const DEPLOYER = 'ops@deployer.example';

/** A JSON Schema object, walked loosely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

function at(days: number, hours = 0): string {
  return new Date(Date.parse(NOW) + days * 86_400_000 + hours * 3_600_000)
    .toISOString()
    .replace('.000Z', 'Z');
}

/**
 * A case driven through decide() by many kinds of input: a report with an embargo, invitations
 * (vendor, deployer), acceptance, a revision, case-state changes, a delivery failure, and every
 * timer decide() set, fired at its due time. Returns every snapshot and input on the way.
 */
function history(): { snapshots: CaseSnapshot[]; inputs: Input[] } {
  const snapshots: CaseSnapshot[] = [];
  const inputs: Input[] = [];
  let s = newCase({
    id: 'VM-2026-0001',
    title: 'Heap overflow in libexample',
    now: NOW,
    domain: 'cvd.example.org',
    coordinators: [{ email: COORD, name: 'Coordinator' }],
  });
  snapshots.push(s);
  const timers = new Map<string, TimerRef>();
  const step = (input: Input, now: string): Decision => {
    const d = decide(s, input, { now, policy: DEFAULT_POLICY });
    inputs.push(input);
    s = d.snapshot;
    snapshots.push(JSON.parse(JSON.stringify(s)) as CaseSnapshot);
    for (const e of d.effects) {
      if (e.type === 'timer-set') timers.set(e.timer.id, e.timer);
      else if (e.type === 'timer-clear') timers.delete(e.id);
    }
    return d;
  };
  const msg = (from: string, codes: MessageCode[], payload: Payload = {}): Input => ({
    kind: 'message',
    from,
    codes,
    payload,
  });

  step(
    {
      kind: 'report',
      from: { email: FINDER, name: 'Finder' },
      codes: ['RS', 'EP'],
      payload: { embargoEnd: at(40), text: 'A heap overflow in parse().' },
    },
    NOW,
  );
  step(
    msg(COORD, ['GI'], {
      invite: { email: VENDOR, role: 'vendor', name: 'Vendor PSIRT', maxEmbargoDays: 60 },
    }),
    at(0, 1),
  );
  step(msg(VENDOR, ['EA'], {}), at(0, 2));
  step(msg(COORD, ['GI'], { invite: { email: DEPLOYER, role: 'deployer' } }), at(0, 3));
  step(msg(VENDOR, ['RV', 'EV'], { embargoEnd: at(30), text: 'We need less time.' }), at(1));
  step(msg(FINDER, ['EC'], {}), at(1, 1));
  step(msg(VENDOR, ['CF'], {}), at(2));
  step(msg(FINDER, ['GI'], { text: 'Any news?' }), at(2, 1));
  step(msg(FINDER, ['GI'], { status: true }), at(2, 2));
  step(msg('stranger@example.com', ['GI'], {}), at(2, 3));
  step(
    { kind: 'delivery-failure', to: DEPLOYER, permanent: true, types: ['RS'], detail: '550 no such user' },
    at(3),
  );
  // Fire every timer in due order until none is left within 60 days.
  for (let i = 0; i < 50; i++) {
    const next = [...timers.values()].sort((a, b) => Date.parse(a.due) - Date.parse(b.due))[0];
    if (!next || Date.parse(next.due) > Date.parse(at(60))) break;
    timers.delete(next.id);
    step({ kind: 'timer', timer: next }, next.due);
  }
  step(msg(VENDOR, ['CP'], { reason: 'https://advisories.example/1' }), at(61));
  step(msg(FINDER, ['RC'], { adherence: 'adhere' }), at(62));
  return { snapshots, inputs };
}

describe('CaseSnapshotSchema', () => {
  const { snapshots, inputs } = history();

  it('validates, strictly, every snapshot decide() produced', () => {
    for (const [i, snap] of snapshots.entries()) {
      const r = CaseSnapshotSchema.safeParse(snap);
      expect(r.success, `snapshot ${i}: ${r.success ? '' : JSON.stringify(r.error.issues)}`).toBe(true);
      // Strict parsing keeps every key: nothing stripped, nothing added.
      expect(r.data).toEqual(snap);
    }
  });

  it('the history is rich enough to mean something', () => {
    const last = snapshots[snapshots.length - 1] as CaseSnapshot;
    const ems = new Set(snapshots.map((x) => x.em));
    expect(ems.size).toBeGreaterThanOrEqual(3);
    expect(last.embargo.proposals.length).toBeGreaterThanOrEqual(2);
    expect(last.participants.length).toBe(4);
    expect(last.participants.some((p) => p.vfd !== null)).toBe(true);
    expect(last.log.length).toBeGreaterThan(10);
    expect(inputs.some((x) => x.kind === 'timer')).toBe(true);
  });

  it('rejects an unknown key, a value outside the vocabulary, and a missing field', () => {
    const last = snapshots[snapshots.length - 1] as CaseSnapshot;
    expect(CaseSnapshotSchema.safeParse({ ...last, extra: 1 }).success).toBe(false);
    expect(CaseSnapshotSchema.safeParse({ ...last, em: 'OPEN' }).success).toBe(false);
    const p = last.participants[0];
    expect(CaseSnapshotSchema.safeParse({ ...last, participants: [{ ...p, rm: 'DONE' }] }).success).toBe(
      false,
    );
    const { log: _log, ...noLog } = last;
    expect(CaseSnapshotSchema.safeParse(noLog).success).toBe(false);
  });
});

describe('InputSchema', () => {
  it('validates every input given to decide() above, and rejects unknown codes and keys', () => {
    const { inputs } = history();
    for (const input of inputs) expect(InputSchema.parse(input)).toEqual(input);
    expect(InputSchema.safeParse({ kind: 'message', from: FINDER, codes: ['XX'], payload: {} }).success).toBe(
      false,
    );
    expect(
      InputSchema.safeParse({ kind: 'message', from: FINDER, codes: [], payload: { bogus: 1 } }).success,
    ).toBe(false);
    expect(InputSchema.safeParse({ kind: 'telegram' }).success).toBe(false);
  });
});

describe('vultron-mail schema', () => {
  let s: Sandbox;
  beforeAll(async () => {
    s = await sandbox();
  });
  afterAll(() => s.cleanup());

  it('prints { case, message } JSON Schemas with the closed vocabularies', async () => {
    const out = jsonOf<{ case: Json; message: Json }>(await run(['schema']));
    expect(Object.keys(out).sort()).toEqual(['case', 'message']);
    expect(out.case['$schema']).toMatch(/json-schema\.org/);
    expect(out.case['type']).toBe('object');
    expect(out.case['additionalProperties']).toBe(false);
    expect(out.case['properties']['em']['enum']).toEqual([...EM_STATES]);
    expect(Object.keys(out.case['properties']).sort()).toEqual(
      ['createdAt', 'domain', 'embargo', 'em', 'id', 'log', 'participants', 'pxa', 'title'].sort(),
    );
    const kinds = (out.message['oneOf'] ?? out.message['anyOf']) as Json[];
    expect(kinds.map((k) => k['properties']['kind']['const'])).toEqual([
      'report',
      'message',
      'timer',
      'delivery-failure',
    ]);
    expect(kinds[1]?.['properties']['codes']['items']['enum']).toEqual([...MESSAGE_CODES]);
  });

  it('a case made by the CLI validates against the schema it prints', async () => {
    await s.cli('--now', NOW, 'case', 'new', '--from', FINDER, '--title', 'T');
    await s.cli('--now', NOW, 'case', 'propose', 'VM-2026-0001', '--as', FINDER, '--end', '2026-04-01');
    const snap = jsonOf<CaseSnapshot>(await s.cli('case', 'show', 'VM-2026-0001', '--json'));
    expect(CaseSnapshotSchema.parse(snap)).toEqual(snap);
  });
});
