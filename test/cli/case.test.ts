/**
 * Coordinator actions and listings from the shell: `case new|invite|propose|show`, `cases`,
 * `outbox`, `send`, `tick`, on a real SQLite store and a directory outbox made by `init`, with
 * the clock injected by `--now`. JSON outputs are checked key by key against DESIGN.md §5.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messageIdFileName } from '../../src/outbound/transports.js';
import type { CaseSnapshot } from '../../src/protocol/index.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Sandbox } from './helpers.js';
import { BOT_DOMAIN, COORDINATOR, NOW, jsonOf, sandbox } from './helpers.js';

const REPORTER = 'finder@example.net';
const VENDOR = 'psirt@vendor.example';

interface OutboxJson {
  id: number;
  caseId: string | null;
  to: string[];
  subject: string;
  types: string[];
  status: string;
  attempts: number;
  messageId: string;
  calendarMethod: string | null;
}

const OUTBOX_KEYS = [
  'id',
  'caseId',
  'to',
  'subject',
  'types',
  'status',
  'attempts',
  'messageId',
  'calendarMethod',
];
const CASES_KEYS = ['id', 'title', 'em', 'pxa', 'embargoEnd', 'participants'];

/** DESIGN.md §5 `case show --json`: the contract's keys, each present. */
const CONTRACT = {
  top: ['id', 'title', 'em', 'pxa', 'embargo', 'participants', 'log'],
  embargo: ['end', 'proposals'],
  proposal: ['id', 'end', 'proposer', 'kind', 'status', 'uid', 'sequence', 'acceptedBy'],
  participant: ['email', 'name', 'roles', 'rm', 'vfd', 'deployed', 'engaged', 'embargoAdherence', 'consent'],
  log: ['at', 'kind', 'from', 'types', 'detail'],
};
/** The exact key sets (contract plus the extras documented in src/protocol/snapshot.ts). */
const EXACT = {
  top: [...CONTRACT.top, 'createdAt', 'domain'],
  embargo: [...CONTRACT.embargo, 'active'],
  proposal: [...CONTRACT.proposal, 'n', 'declinedBy', 'proposedAt', 'rsvpDeadline', 'counterTo', 'decidedAt'],
  participant: [...CONTRACT.participant, 'reportSent', 'undeliverable', 'maxEmbargoDays', 'joinedAt'],
  log: CONTRACT.log,
};

const keys = (o: object) => Object.keys(o).sort();
const sorted = (a: string[]) => [...a].sort();

let s: Sandbox;
beforeEach(async () => {
  s = await sandbox();
});
afterEach(() => s.cleanup());

async function newCase(now = NOW, ...extra: string[]): Promise<string> {
  const r = await s.cli(
    '--now',
    now,
    'case',
    'new',
    '--from',
    REPORTER,
    '--title',
    'Heap overflow in libexample',
    ...extra,
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

async function show(id: string): Promise<CaseSnapshot> {
  return jsonOf<CaseSnapshot>(await s.cli('case', 'show', id, '--json'));
}

async function outbox(...args: string[]): Promise<OutboxJson[]> {
  return jsonOf<OutboxJson[]>(await s.cli('outbox', '--json', ...args));
}

function emlFiles(): string[] {
  return readdirSync(s.outbox).filter((f) => f.endsWith('.eml'));
}

describe('case new', () => {
  it('opens VM-<year>-0001, prints only the id, and writes the acknowledgement into the outbox folder', async () => {
    const id = await newCase(NOW, '--text', 'A heap overflow in parse().');
    expect(id).toBe('VM-2026-0001');

    const rows = await outbox();
    const ack = rows.find((r) => r.to[0] === REPORTER);
    expect(ack).toBeDefined();
    expect(ack?.types).toEqual(['RK']);
    expect(ack?.status).toBe('sent');
    expect(ack?.attempts).toBe(1);
    expect(ack?.caseId).toBe(id);
    const file = join(s.outbox, `${messageIdFileName(ack?.messageId ?? '')}.eml`);
    expect(existsSync(file)).toBe(true);
    const raw = readFileSync(file, 'latin1');
    expect(raw).toMatch(/^To: .*finder@example\.net/m);
    expect(raw).toContain('VM-2026-0001');
    // Every row went out, one file each.
    expect(rows.every((r) => r.status === 'sent')).toBe(true);
    expect(emlFiles()).toHaveLength(rows.length);

    const c = await show(id);
    expect(c.title).toBe('Heap overflow in libexample');
    expect(c.em).toBe('NONE');
    expect(c.participants.map((p) => [p.email, p.roles])).toEqual([
      [COORDINATOR, ['coordinator']],
      [REPORTER, ['reporter']],
    ]);
    expect(c.log.filter((e) => e.kind === 'inbound')).toEqual([
      { at: NOW, kind: 'inbound', from: REPORTER, types: ['RS'], detail: expect.any(String) },
    ]);
  });

  it('counts per UTC year of --now', async () => {
    expect(await newCase()).toBe('VM-2026-0001');
    expect(await newCase('2026-12-31T23:59:59Z')).toBe('VM-2026-0002');
    expect(await newCase('2026-12-31T23:30:00-01:00')).toBe('VM-2027-0001');
  });

  it('--no-send leaves the mails pending; send delivers them', async () => {
    await newCase(NOW, '--no-send');
    expect(emlFiles()).toEqual([]);
    const pending = await outbox('--status', 'pending');
    expect(pending.length).toBeGreaterThan(0);
    expect(await outbox('--status', 'sent')).toEqual([]);

    const r = await s.cli('--now', NOW, 'send');
    expect(r).toEqual({ code: 0, stdout: `sent ${pending.length}, failed 0\n`, stderr: '' });
    expect(emlFiles()).toHaveLength(pending.length);
    expect(await outbox('--status', 'pending')).toEqual([]);
    expect((await outbox('--status', 'sent')).map((r) => r.id)).toEqual(pending.map((r) => r.id));
  });
});

describe('case invite and propose', () => {
  it('adds a vendor, then proposes an embargo both must accept', async () => {
    const id = await newCase();
    const inv = await s.cli(
      '--now',
      '2026-03-02T11:00:00Z',
      'case',
      'invite',
      'vm-2026-0001',
      VENDOR,
      '--role',
      'vendor',
      '--name',
      'Vendor PSIRT',
    );
    expect(inv).toEqual({ code: 0, stdout: `${id}: invited ${VENDOR} as vendor\n`, stderr: '' });

    let c = await show(id);
    const vendor = c.participants.find((p) => p.email === VENDOR);
    expect(vendor).toMatchObject({ name: 'Vendor PSIRT', roles: ['vendor'], vfd: 'vfd', engaged: true });
    // No embargo: the report goes out at once.
    const rs = (await outbox()).filter((r) => r.to[0] === VENDOR);
    expect(rs.map((r) => r.types)).toEqual([['RS']]);

    const before = (await outbox()).length;
    const prop = await s.cli('--now', '2026-03-02T12:00:00Z', 'case', 'propose', id, '--end', '2026-04-01');
    expect(prop.stderr).toBe('');
    expect(prop.code).toBe(0);
    expect(prop.stdout).toBe(
      `${id}: E1 proposal, embargo until 2026-04-01T23:59:59Z: pending, RSVP by 2026-03-09T12:00:00Z\n`,
    );
    c = await show(id);
    expect(c.em).toBe('PROPOSED');
    expect(c.embargo.end).toBeNull();
    expect(c.embargo.proposals).toHaveLength(1);
    expect(c.embargo.proposals[0]).toMatchObject({
      id: 'E1',
      end: '2026-04-01T23:59:59Z',
      proposer: COORDINATOR,
      kind: 'proposal',
      status: 'pending',
      uid: `${id}-embargo-1@${BOT_DOMAIN}`,
      sequence: 0,
    });

    const invitations = (await outbox()).slice(before).filter((r) => r.calendarMethod === 'REQUEST');
    expect(invitations.map((r) => r.to[0]).sort()).toEqual([REPORTER, VENDOR]);
    for (const r of invitations) {
      expect(r.types).toContain('EP');
      expect(r.status).toBe('sent');
    }
  });

  it('propose without --end uses policy.embargo.defaultDays from --now; in force it is a revision (EV)', async () => {
    const id = await newCase();
    // The reporter's own proposal: no other quorum member, so it is accepted at once.
    const first = await s.cli('--now', NOW, 'case', 'propose', id, '--as', REPORTER);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(
      `${id}: E1 proposal, embargo until 2026-04-16T23:59:59Z: accepted, EM ACTIVE\n`,
    );
    let c = await show(id);
    expect(c.em).toBe('ACTIVE');
    expect(c.embargo.end).toBe('2026-04-16T23:59:59Z');

    const rev = await s.cli(
      '--now',
      NOW,
      'case',
      'propose',
      id,
      '--end',
      '2026-03-31T12:00:00+02:00',
      '--as',
      REPORTER,
    );
    expect(rev.code).toBe(0);
    c = await show(id);
    const e2 = c.embargo.proposals.find((p) => p.id === 'E2');
    expect(e2).toMatchObject({
      kind: 'revision',
      end: '2026-03-31T10:00:00Z',
      uid: `${id}-embargo-2@${BOT_DOMAIN}`,
    });
    expect(c.log.filter((e) => e.kind === 'inbound').map((e) => e.types)).toEqual([['RS'], ['EP'], ['EV']]);
  });

  it('an invitation while an embargo is active sends the embargo first and withholds the report', async () => {
    const id = await newCase();
    await s.cli('--now', NOW, 'case', 'propose', id, '--as', REPORTER, '--end', '2026-04-01');
    const inv = await s.cli('--now', NOW, 'case', 'invite', id, VENDOR, '--role', 'vendor');
    expect(inv.code).toBe(0);
    expect(inv.stdout).toBe(
      `${id}: invited ${VENDOR} as vendor; the active embargo goes first, the report is withheld until they accept it\n`,
    );
    const toVendor = (await outbox()).filter((r) => r.to[0] === VENDOR);
    expect(toVendor.some((r) => r.types.includes('RS'))).toBe(false);
    expect(toVendor.some((r) => r.calendarMethod === 'REQUEST')).toBe(true);
  });

  it('a refused action prints the error the actor got and exits 1', async () => {
    const id = await newCase();
    const cases: Array<[string[], RegExp]> = [
      [['propose', id, '--end', '2026-01-01'], /in the past or too soon/],
      [
        ['propose', id, '--end', '2027-04-01'],
        /later than the policy allows\. The latest acceptable end is 2026-05-31/,
      ],
      [['invite', id, REPORTER, '--role', 'vendor'], /already a participant/],
      [['invite', id, VENDOR, '--role', 'vendor', '--as', REPORTER], /.+/],
    ];
    for (const [args, message] of cases) {
      const r = await s.cli('--now', NOW, 'case', ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^vultron-mail: ${id}: `));
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr).toMatch(message);
    }
    const c = await show(id);
    expect(c.em).toBe('NONE');
    expect(c.participants.map((p) => p.email)).toEqual([COORDINATOR, REPORTER]);
  });

  it('an unknown case or an actor outside the case is a handled failure', async () => {
    const id = await newCase();
    expect(await s.cli('case', 'show', 'VM-2026-0099')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'vultron-mail: no case VM-2026-0099\n',
    });
    expect((await s.cli('case', 'propose', 'VM-2026-0099')).stderr).toBe(
      'vultron-mail: no case VM-2026-0099\n',
    );
    expect(
      await s.cli('case', 'invite', id, VENDOR, '--role', 'vendor', '--as', 'stranger@example.com'),
    ).toEqual({
      code: 1,
      stdout: '',
      stderr: `vultron-mail: stranger@example.com is not a participant of ${id}\n`,
    });
  });
});

describe('case show', () => {
  it('--json is the snapshot as stored, with the contract keys (exact key sets)', async () => {
    const id = await newCase();
    await s.cli('--now', '2026-03-02T11:00:00Z', 'case', 'invite', id, VENDOR, '--role', 'vendor');
    await s.cli('--now', '2026-03-02T12:00:00Z', 'case', 'propose', id, '--end', '2026-04-01');
    const c = await show(id.toLowerCase());

    const store = openSqliteStore(s.db);
    try {
      expect(c).toEqual(store.getCase(id));
    } finally {
      store.close();
    }

    expect(keys(c)).toEqual(sorted(EXACT.top));
    expect(keys(c.embargo)).toEqual(sorted(EXACT.embargo));
    expect(c.embargo.proposals.length).toBeGreaterThan(0);
    for (const p of c.embargo.proposals) {
      expect(keys(p)).toEqual(sorted(EXACT.proposal));
      expect(p.acceptedBy).toEqual(expect.any(Array));
    }
    expect(c.participants.length).toBe(3);
    for (const p of c.participants) expect(keys(p)).toEqual(sorted(EXACT.participant));
    expect(c.log.length).toBeGreaterThan(0);
    for (const e of c.log) expect(keys(e)).toEqual(sorted(EXACT.log));
    // One inbound entry per applied action, with its flag set.
    expect(c.log.filter((e) => e.kind === 'inbound').map((e) => e.types)).toEqual([['RS'], ['GI'], ['EP']]);
    // Value shapes of the contract.
    expect(c.id).toBe(id);
    expect(c.pxa).toMatch(/^[pP][xX][aA]$/);
    expect(c.participants.find((p) => p.email === VENDOR)?.vfd).toMatch(/^[vV][fF][dD]$/);
  });

  it('text: header, states, proposals, participants and log', async () => {
    const id = await newCase();
    await s.cli('--now', '2026-03-02T12:00:00Z', 'case', 'propose', id, '--end', '2026-04-01');
    const r = await s.cli('case', 'show', id);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out.split('\n')[0]).toBe(`${id}  Heap overflow in libexample`);
    expect(out).toMatch(/^EM: +PROPOSED$/m);
    expect(out).toMatch(/^pxa: +pxa$/m);
    expect(out).toMatch(/^embargo end: +none$/m);
    expect(out).toMatch(/^Proposals \(1\)\n +ID +KIND +STATUS +END/m);
    expect(out).toMatch(/^ +E1 +proposal +pending +2026-04-01T23:59:59Z +coordinator@example\.org/m);
    expect(out).toMatch(/^Participants \(2\)$/m);
    expect(out).toMatch(/^ +finder@example\.net +- +reporter +ACCEPTED/m);
    expect(out).toMatch(/^Log \(\d+\)$/m);
    expect(out).toMatch(/^ +2026-03-02T10:00:00Z +inbound +finder@example\.net +RS/m);
  });
});

describe('cases', () => {
  it('--json: exactly id, title, em, pxa, embargoEnd, participants (a count)', async () => {
    expect(jsonOf(await s.cli('cases', '--json'))).toEqual([]);
    expect((await s.cli('cases')).stdout).toBe('no cases\n');
    const a = await newCase();
    const b = await newCase();
    await s.cli('--now', NOW, 'case', 'propose', b, '--as', REPORTER, '--end', '2026-04-01');
    const list = jsonOf<Array<Record<string, unknown>>>(await s.cli('cases', '--json'));
    for (const c of list) expect(keys(c)).toEqual(sorted(CASES_KEYS));
    expect(list).toEqual([
      {
        id: a,
        title: 'Heap overflow in libexample',
        em: 'NONE',
        pxa: 'pxa',
        embargoEnd: null,
        participants: 2,
      },
      {
        id: b,
        title: 'Heap overflow in libexample',
        em: 'ACTIVE',
        pxa: 'pxa',
        embargoEnd: '2026-04-01T23:59:59Z',
        participants: 2,
      },
    ]);
    const text = await s.cli('cases');
    expect(text.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(text.stdout).toMatch(
      /^VM-2026-0002 +ACTIVE +pxa +2 participants +embargo ends 2026-04-01T23:59:59Z +Heap/m,
    );
  });
});

describe('outbox', () => {
  it('--json: the contract keys exactly, oldest first, no raw bytes', async () => {
    await newCase();
    await s.cli('--now', NOW, 'case', 'propose', 'VM-2026-0001', '--end', '2026-04-01');
    const rows = await outbox();
    expect(rows.length).toBeGreaterThan(2);
    for (const r of rows) {
      expect(keys(r)).toEqual(sorted(OUTBOX_KEYS));
      expect(r.to).toHaveLength(1);
      expect(r.messageId).toMatch(/^<.+@.+>$/);
      expect(['REQUEST', 'CANCEL', 'DECLINECOUNTER', null]).toContain(r.calendarMethod);
    }
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((x, y) => x - y));
    expect(rows.some((r) => r.calendarMethod === 'REQUEST' && r.types.includes('EP'))).toBe(true);
    const text = await s.cli('outbox');
    expect(text.stdout.split('\n')[0]).toMatch(/^ID +STATUS +TRIES +CASE +TO +TYPES +CALENDAR +SUBJECT$/);
  });
});

describe('tick', () => {
  it('fires the embargo expiry at its end instant, not a second before', async () => {
    const id = await newCase();
    await s.cli('--now', NOW, 'case', 'propose', id, '--as', REPORTER, '--end', '2026-03-10');
    expect((await show(id)).em).toBe('ACTIVE');

    const early = await s.cli('--now', '2026-03-10T23:59:58Z', 'tick');
    expect(early.code).toBe(0);
    expect((await show(id)).em).toBe('ACTIVE');
    const before = (await outbox()).length;

    const due = await s.cli('--now', '2026-03-10T23:59:59Z', 'tick');
    expect(due.stderr).toBe('');
    expect(due.code).toBe(0);
    expect(due.stdout).toMatch(/^fired [1-9]\d* timers?\nsent \d+, failed 0\n$/);
    const c = await show(id);
    expect(c.em).toBe('EXITED');
    expect(c.embargo.end).toBe('2026-03-10T23:59:59Z');

    const notices = (await outbox()).slice(before);
    expect(notices.map((r) => r.to[0]).sort()).toEqual([COORDINATOR, REPORTER]);
    for (const r of notices) {
      expect(r.types).toEqual(['ET']);
      expect(r.calendarMethod).toBeNull();
      expect(r.status).toBe('sent');
    }

    expect(await s.cli('--now', '2026-03-11T00:00:00Z', 'tick', '--no-send')).toEqual({
      code: 0,
      stdout: 'fired 0 timers\n',
      stderr: '',
    });
  });
});
