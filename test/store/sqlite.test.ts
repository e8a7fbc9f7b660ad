import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/store/sqlite.js';
import { BLOB_CHUNK_BYTES, openSqliteStore } from '../../src/store/sqlite.js';
import { NOW, outboxRow, sampleCase, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let path: string;
let store: SqliteStore;

beforeEach(() => {
  tmp = tempDir();
  path = join(tmp.dir, 'data', 'vultron-mail.sqlite');
  store = openSqliteStore(path);
});

afterEach(() => {
  store.close();
  tmp.cleanup();
});

function reopen(): SqliteStore {
  store.close();
  store = openSqliteStore(path);
  return store;
}

function count(table: string): number {
  return (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

describe('opening', () => {
  it('creates the folder and sets WAL, foreign keys, FULL sync and a busy timeout', () => {
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(10000);
  });
});

describe('cases', () => {
  it('returns exactly the snapshot saved, also after reopening the file', () => {
    const s = sampleCase();
    store.saveCase(s);
    expect(store.getCase('VM-2026-0001')).toStrictEqual(s);
    expect(JSON.stringify(store.getCase('VM-2026-0001'))).toBe(JSON.stringify(s));
    reopen();
    expect(store.getCase('VM-2026-0001')).toStrictEqual(s);
  });

  it('matches case ids case-insensitively and returns undefined for an unknown id', () => {
    store.saveCase(sampleCase());
    expect(store.getCase('vm-2026-0001')?.id).toBe('VM-2026-0001');
    expect(store.getCase('VM-2026-0002')).toBeUndefined();
  });

  it('replaces the snapshot and appends only the new log entries', () => {
    const s = sampleCase();
    store.saveCase(s);
    expect(count('log_events')).toBe(2);
    s.em = 'ACTIVE';
    s.log.push({ at: '2026-03-04T12:00:00Z', kind: 'timer', from: null, types: ['ET'], detail: 'x' });
    store.saveCase(s);
    store.saveCase(s);
    expect(store.getCase(s.id)).toStrictEqual(s);
    expect(count('cases')).toBe(1);
    expect(
      store.db
        .prepare('SELECT case_id, idx, at, kind, sender, types, detail FROM log_events ORDER BY idx')
        .all(),
    ).toEqual([
      {
        case_id: 'VM-2026-0001',
        idx: 0,
        at: NOW,
        kind: 'inbound',
        sender: 'finder@example.net',
        types: '["RS","EP"]',
        detail: 'first report',
      },
      {
        case_id: 'VM-2026-0001',
        idx: 1,
        at: '2026-03-03T08:30:00Z',
        kind: 'inbound',
        sender: 'psirt@vendor.example',
        types: '["EA"]',
        detail: '',
      },
      {
        case_id: 'VM-2026-0001',
        idx: 2,
        at: '2026-03-04T12:00:00Z',
        kind: 'timer',
        sender: null,
        types: '["ET"]',
        detail: 'x',
      },
    ]);
  });

  it('keeps the log only in log_events: the stored JSON holds an empty log, getCase gives it back whole', () => {
    const s = sampleCase();
    store.saveCase(s);
    const row = store.db.prepare('SELECT snapshot FROM cases').get() as { snapshot: string };
    expect(JSON.parse(row.snapshot)).toStrictEqual({ ...s, log: [] });
    expect(store.getCase(s.id)).toStrictEqual(s);
    expect(store.logLength(s.id)).toBe(2);
    expect(store.logLength('VM-2026-9999')).toBe(0);
  });

  it('log cache: a second handle (another process) appends entries and the first one sees them', () => {
    const s = sampleCase();
    store.saveCase(s);
    expect(store.getCase(s.id)?.log).toHaveLength(2);
    const other = openSqliteStore(path);
    s.log.push({ at: '2026-03-04T12:00:00Z', kind: 'timer', from: null, types: ['ET'], detail: 'x' });
    other.saveCase(s);
    other.close();
    expect(store.getCase(s.id)).toStrictEqual(s);
  });

  it('log cache: entries read inside a transaction that rolls back are not kept', () => {
    const s = sampleCase();
    store.saveCase(s);
    expect(store.getCase(s.id)?.log).toHaveLength(2);
    const longer = sampleCase();
    longer.log.push({
      at: '2026-03-04T12:00:00Z',
      kind: 'timer',
      from: null,
      types: ['ET'],
      detail: 'undone',
    });
    expect(() =>
      store.transaction(() => {
        store.saveCase(longer);
        expect(store.getCase(s.id)?.log).toHaveLength(3);
        throw new Error('roll back');
      }),
    ).toThrow('roll back');
    expect(store.getCase(s.id)).toStrictEqual(s);
    const other = { ...sampleCase(), log: [...s.log] };
    other.log.push({ at: '2026-03-05T12:00:00Z', kind: 'timer', from: null, types: ['EK'], detail: 'kept' });
    store.saveCase(other);
    expect(store.getCase(s.id)).toStrictEqual(other);
  });

  it('log cache: the entries given out are frozen, so no caller can change the cached log', () => {
    const s = sampleCase();
    store.saveCase(s);
    const got = store.getCase(s.id) as typeof s;
    expect(() => {
      (got.log[0] as { detail: string }).detail = 'changed';
    }).toThrow(TypeError);
    got.log.push({ at: '2026-03-04T12:00:00Z', kind: 'timer', from: null, types: ['ET'], detail: 'x' });
    expect(store.getCase(s.id)).toStrictEqual(s);
  });

  it('refuses a stale snapshot with fewer log entries than stored, and changes nothing', () => {
    const s = sampleCase();
    store.saveCase(s);
    const stale = sampleCase();
    stale.log.pop();
    stale.title = 'changed';
    expect(() => store.saveCase(stale)).toThrow(
      'saveCase(VM-2026-0001): the snapshot has 1 log entries but 2 are stored; the log is append-only (a stale snapshot?)',
    );
    expect(store.getCase(s.id)).toStrictEqual(s);
  });

  it('lists cases in creation order with the denormalised columns', () => {
    const a = sampleCase('VM-2026-0001');
    const b = sampleCase('VM-2026-0002');
    b.title = 'Second';
    b.em = 'NONE';
    b.pxa = 'pxa';
    b.embargo = { end: null, active: null, proposals: [] };
    b.participants.pop();
    store.saveCase(a);
    store.saveCase(b);
    a.em = 'EXITED';
    store.saveCase(a);
    expect(store.listCases()).toEqual([
      {
        id: 'VM-2026-0001',
        title: 'Heap overflow in libexample',
        em: 'EXITED',
        pxa: 'pXa',
        embargoEnd: '2026-04-15T23:59:59Z',
        participants: 3,
      },
      { id: 'VM-2026-0002', title: 'Second', em: 'NONE', pxa: 'pxa', embargoEnd: null, participants: 2 },
    ]);
    expect(store.db.prepare('SELECT id, created_at, updated_at FROM cases ORDER BY id').all()).toEqual([
      { id: 'VM-2026-0001', created_at: NOW, updated_at: '2026-03-03T08:30:00Z' },
      { id: 'VM-2026-0002', created_at: NOW, updated_at: '2026-03-03T08:30:00Z' },
    ]);
  });

  it('indexes the embargo UIDs of the proposals', () => {
    store.saveCase(sampleCase());
    expect(store.caseByEmbargoUid('VM-2026-0001-embargo-1@cvd.example.org')).toBe('VM-2026-0001');
    expect(store.caseByEmbargoUid('vm-2026-0001-EMBARGO-2@cvd.example.org')).toBe('VM-2026-0001');
    expect(store.caseByEmbargoUid('VM-2026-0001-embargo-3@cvd.example.org')).toBeUndefined();
    expect(count('embargo_uids')).toBe(2);
  });

  it('refuses an embargo UID that belongs to another case', () => {
    store.saveCase(sampleCase('VM-2026-0001'));
    const other = sampleCase('VM-2026-0002');
    const first = other.embargo.proposals[0];
    if (!first) throw new Error('sample has proposals');
    first.uid = 'VM-2026-0001-embargo-1@cvd.example.org';
    expect(() => store.saveCase(other)).toThrow(
      'saveCase(VM-2026-0002): embargo UID VM-2026-0001-embargo-1@cvd.example.org already belongs to case VM-2026-0001',
    );
    expect(store.getCase('VM-2026-0002')).toBeUndefined();
  });
});

describe('case counter', () => {
  it('counts per (prefix, year) from 1 and restarts with a new year', () => {
    expect(store.nextCaseNumber('VM', 2026)).toBe(1);
    expect(store.nextCaseNumber('VM', 2026)).toBe(2);
    expect(store.nextCaseNumber('VM', 2026)).toBe(3);
    expect(store.nextCaseNumber('VM', 2027)).toBe(1);
    expect(store.nextCaseNumber('CERT', 2026)).toBe(1);
    expect(store.nextCaseNumber('vm', 2026)).toBe(4);
    expect(store.nextCaseNumber('VM', 2027)).toBe(2);
    reopen();
    expect(store.nextCaseNumber('VM', 2026)).toBe(5);
  });

  it('is shared by two handles on the same file', () => {
    const other = openSqliteStore(path);
    try {
      expect(store.nextCaseNumber('VM', 2026)).toBe(1);
      expect(other.nextCaseNumber('VM', 2026)).toBe(2);
      expect(store.nextCaseNumber('VM', 2026)).toBe(3);
    } finally {
      other.close();
    }
  });
});

describe('reports', () => {
  it('keeps reports with their binary attachments, in order', () => {
    store.saveCase(sampleCase());
    const bytes = Buffer.from([0, 1, 2, 255, 254, 0x0d, 0x0a]);
    const id1 = store.addReport({
      caseId: 'VM-2026-0001',
      messageId: '<report-1@example.net>',
      from: 'finder@example.net',
      subject: 'Heap overflow',
      text: 'Details…',
      attachments: [
        { filename: 'poc.bin', contentType: 'application/octet-stream', content: bytes },
        { filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('notes') },
      ],
      receivedAt: NOW,
    });
    const id2 = store.addReport({
      caseId: 'VM-2026-0001',
      messageId: null,
      from: 'coord@cvd.example.org',
      subject: 'Addendum',
      text: '',
      attachments: [],
      receivedAt: '2026-03-03T00:00:00Z',
    });
    expect(id2).toBe(id1 + 1);
    expect(store.getReports('vm-2026-0001')).toStrictEqual([
      {
        id: id1,
        caseId: 'VM-2026-0001',
        messageId: '<report-1@example.net>',
        from: 'finder@example.net',
        subject: 'Heap overflow',
        text: 'Details…',
        attachments: [
          { filename: 'poc.bin', contentType: 'application/octet-stream', content: bytes },
          { filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('notes') },
        ],
        receivedAt: NOW,
      },
      {
        id: id2,
        caseId: 'VM-2026-0001',
        messageId: null,
        from: 'coord@cvd.example.org',
        subject: 'Addendum',
        text: '',
        attachments: [],
        receivedAt: '2026-03-03T00:00:00Z',
      },
    ]);
    expect(store.getReports('VM-2026-0002')).toEqual([]);
  });

  it('refuses a report for a case that does not exist', () => {
    expect(() =>
      store.addReport({
        caseId: 'VM-2026-0042',
        messageId: null,
        from: 'a@example.net',
        subject: 's',
        text: 't',
        attachments: [{ filename: 'a', contentType: 'text/plain', content: Buffer.from('a') }],
        receivedAt: NOW,
      }),
    ).toThrow('FOREIGN KEY constraint failed');
    expect(count('reports')).toBe(0);
    expect(count('report_attachments')).toBe(0);
  });
});

describe('inbound ledger and raw messages', () => {
  const entry = {
    messageId: '<abc@example.net>',
    sha256: 'a'.repeat(64),
    contentSha256: 'b'.repeat(64),
    caseId: 'VM-2026-0001',
    outcome: 'applied',
    at: NOW,
  };

  it('records an entry once and finds it by Message-ID, with or without brackets', () => {
    store.saveCase(sampleCase());
    expect(store.getLedger('<abc@example.net>')).toBeUndefined();
    store.addLedger(entry);
    expect(store.getLedger('<abc@example.net>')).toStrictEqual(entry);
    expect(store.getLedger('abc@example.net')).toStrictEqual(entry);
    expect(store.getLedger('<ABC@example.net>')).toBeUndefined();
    expect(() => store.addLedger({ ...entry, sha256: 'c'.repeat(64) })).toThrow(
      'addLedger: <abc@example.net> is already in the ledger (outcome applied); use replaceLedger to record a new outcome',
    );
    expect(store.getLedger('<abc@example.net>')).toStrictEqual(entry);
  });

  it('replaces an entry with replaceLedger (quarantine release)', () => {
    store.saveCase(sampleCase());
    const quarantined = { ...entry, caseId: null, outcome: 'quarantined' };
    store.addLedger(quarantined);
    expect(store.getLedger(entry.messageId)).toStrictEqual(quarantined);
    store.replaceLedger({ ...entry, at: '2026-03-05T00:00:00Z' });
    expect(store.getLedger(entry.messageId)).toStrictEqual({ ...entry, at: '2026-03-05T00:00:00Z' });
    expect(count('inbound_ledger')).toBe(1);
  });

  it('keeps raw messages byte for byte', () => {
    const raw = Buffer.from('From: a@example.net\r\nSubject: \xff\r\n\r\nbody\r\n', 'latin1');
    const id = store.addRawMessage('<abc@example.net>', raw, NOW);
    const id2 = store.addRawMessage(null, Buffer.alloc(0), NOW);
    expect(store.getRawMessage(id)).toStrictEqual(raw);
    expect(store.getRawMessage(id2)).toStrictEqual(Buffer.alloc(0));
    expect(store.getRawMessage(id2 + 1)).toBeUndefined();
  });
});

describe('large values in slices (migration 6)', () => {
  /** Distinct bytes, so that a slice out of order or lost would show. */
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 20)) & 0xff;
    return b;
  };
  const chunksOf = (kind: string) =>
    (
      store.db.prepare('SELECT count(*) AS n FROM blob_chunks WHERE kind = ?').get(kind) as {
        n: number;
      }
    ).n;

  it.each([
    ['at the slice size: in its own column', BLOB_CHUNK_BYTES, 0],
    ['one byte over: two slices', BLOB_CHUNK_BYTES + 1, 2],
    ['3.5 slices: four', 3.5 * BLOB_CHUNK_BYTES, 4],
  ])('a raw message %s, read back byte for byte', (_, size, slices) => {
    const raw = bytes(size);
    const id = store.addRawMessage('<big@example.net>', raw, NOW);
    expect(chunksOf('raw')).toBe(slices);
    expect(store.getRawMessage(id)?.equals(raw)).toBe(true);
    expect(reopen().getRawMessage(id)?.equals(raw)).toBe(true);
  });

  it('an outbox row and a report attachment over the slice size, next to small ones', () => {
    store.saveCase(sampleCase());
    const big = bytes(2 * BLOB_CHUNK_BYTES + 7);
    const small = Buffer.from('small');
    const o1 = store.addOutbox(outboxRow({ messageId: '<big@x>', raw: big }));
    const o2 = store.addOutbox(outboxRow({ messageId: '<small@x>', raw: small }));
    store.addReport({
      caseId: 'VM-2026-0001',
      messageId: '<r@x>',
      from: 'finder@example.net',
      subject: 'S',
      text: 'T',
      attachments: [
        { filename: 'core.bin', contentType: 'application/octet-stream', content: big },
        { filename: 'a.txt', contentType: 'text/plain', content: small },
      ],
      receivedAt: NOW,
    });
    expect(chunksOf('outbox')).toBe(3);
    expect(chunksOf('attachment')).toBe(3);
    const s = reopen();
    expect(s.getOutbox(o1)?.raw.equals(big)).toBe(true);
    expect(s.getOutbox(o2)?.raw.equals(small)).toBe(true);
    expect(s.outboxByMessageId('<big@x>')?.raw.equals(big)).toBe(true);
    expect(s.listOutbox().map((r) => r.raw.length)).toEqual([big.length, small.length]);
    const [report] = s.getReports('VM-2026-0001');
    expect(
      report?.attachments.map((a) => [a.filename, a.content.equals(a.filename === 'a.txt' ? small : big)]),
    ).toEqual([
      ['core.bin', true],
      ['a.txt', true],
    ]);
  });

  it('a value whose slices are not all there is an error, not a shorter value', () => {
    const id = store.addRawMessage('<big@example.net>', bytes(2 * BLOB_CHUNK_BYTES), NOW);
    store.db.prepare("DELETE FROM blob_chunks WHERE kind = 'raw' AND seq = 1").run();
    expect(() => store.getRawMessage(id)).toThrow(`raw ${id}: 1 of its 2 stored slices found`);
  });

  it('a large value is written with its row or not at all', () => {
    store.saveCase(sampleCase());
    expect(() =>
      store.transaction(() => {
        store.addOutbox(outboxRow({ messageId: '<big@x>', raw: bytes(2 * BLOB_CHUNK_BYTES) }));
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(count('outbox')).toBe(0);
    expect(chunksOf('outbox')).toBe(0);
  });
});

describe('outbox', () => {
  beforeEach(() => {
    store.saveCase(sampleCase());
  });

  it('adds pending rows, lists them oldest first and indexes their Message-IDs', () => {
    const id1 = store.addOutbox(outboxRow());
    const id2 = store.addOutbox(
      outboxRow({
        to: ['psirt@vendor.example'],
        subject: '[VM-2026-0001] Embargo proposed',
        types: ['EP'],
        messageId: 'ep-2@cvd.example.org',
        calendarMethod: 'REQUEST',
        nextAttemptAt: '2026-03-02T10:05:00Z',
      }),
    );
    const id3 = store.addOutbox(
      outboxRow({ caseId: null, messageId: '<err-3@cvd.example.org>', types: ['GE', 'GI'] }),
    );
    expect([id1, id2, id3]).toEqual([1, 2, 3]);
    expect(store.listOutbox()).toStrictEqual([
      {
        id: 1,
        caseId: 'VM-2026-0001',
        to: ['finder@example.net'],
        subject: '[VM-2026-0001] Report received',
        types: ['RK'],
        status: 'pending',
        attempts: 0,
        messageId: '<rk-1@cvd.example.org>',
        calendarMethod: null,
        raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
        envelopeFrom: 'bounces+1@cvd.example.org',
        createdAt: NOW,
        nextAttemptAt: NOW,
        lastError: null,
        sentAt: null,
      },
      {
        id: 2,
        caseId: 'VM-2026-0001',
        to: ['psirt@vendor.example'],
        subject: '[VM-2026-0001] Embargo proposed',
        types: ['EP'],
        status: 'pending',
        attempts: 0,
        messageId: '<ep-2@cvd.example.org>',
        calendarMethod: 'REQUEST',
        raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
        envelopeFrom: 'bounces+1@cvd.example.org',
        createdAt: NOW,
        nextAttemptAt: '2026-03-02T10:05:00Z',
        lastError: null,
        sentAt: null,
      },
      expect.objectContaining({
        id: 3,
        caseId: null,
        messageId: '<err-3@cvd.example.org>',
        types: ['GE', 'GI'],
      }),
    ]);
    expect(store.caseByOutgoingMessageId('<rk-1@cvd.example.org>')).toBe('VM-2026-0001');
    expect(store.caseByOutgoingMessageId('ep-2@cvd.example.org')).toBe('VM-2026-0001');
    expect(store.caseByOutgoingMessageId('<err-3@cvd.example.org>')).toBeUndefined();
    expect(store.caseByOutgoingMessageId('<other@example.net>')).toBeUndefined();
  });

  it('refuses a second row with the same Message-ID', () => {
    store.addOutbox(outboxRow());
    expect(() => store.addOutbox(outboxRow({ to: ['x@example.net'] }))).toThrow(
      'UNIQUE constraint failed: outbox.message_id',
    );
    expect(store.listOutbox().map((r) => r.id)).toEqual([1]);
  });

  it('gives the due rows, comparing instants (not strings)', () => {
    store.addOutbox(outboxRow({ messageId: '<a@x>', nextAttemptAt: '2026-03-02T10:00:00.500Z' }));
    store.addOutbox(outboxRow({ messageId: '<b@x>', nextAttemptAt: '2026-03-02T09:00:00Z' }));
    store.addOutbox(outboxRow({ messageId: '<c@x>', nextAttemptAt: '2026-03-02T10:00:00+01:00' }));
    const due = (now: string): number[] => store.dueOutbox(now);
    expect(due('2026-03-02T08:59:59Z')).toEqual([]);
    expect(due('2026-03-02T09:00:00Z')).toEqual([2, 3]);
    expect(due('2026-03-02T10:00:00Z')).toEqual([2, 3]);
    expect(due('2026-03-02T10:00:00.500Z')).toEqual([1, 2, 3]);
    expect(() => store.dueOutbox('yesterday')).toThrow('dueOutbox now: not an RFC 3339 instant: "yesterday"');
  });

  it('marks rows sent, retried and failed', () => {
    store.addOutbox(outboxRow({ messageId: '<a@x>' }));
    store.addOutbox(outboxRow({ messageId: '<b@x>' }));
    store.addOutbox(outboxRow({ messageId: '<c@x>' }));

    store.markSent(1, '2026-03-02T10:00:05Z');
    store.markAttemptFailed(2, '421 try again later', '2026-03-02T10:05:00Z');
    store.markAttemptFailed(3, '450 mailbox busy', '2026-03-02T10:05:00Z');
    store.markAttemptFailed(3, '550 no such user', null);

    const pick = (status?: 'pending' | 'sent' | 'failed') =>
      store
        .listOutbox(status ? { status } : {})
        .map(({ id, status: st, attempts, nextAttemptAt, lastError, sentAt }) => ({
          id,
          status: st,
          attempts,
          nextAttemptAt,
          lastError,
          sentAt,
        }));
    expect(pick()).toEqual([
      {
        id: 1,
        status: 'sent',
        attempts: 1,
        nextAttemptAt: NOW,
        lastError: null,
        sentAt: '2026-03-02T10:00:05Z',
      },
      {
        id: 2,
        status: 'pending',
        attempts: 1,
        nextAttemptAt: '2026-03-02T10:05:00Z',
        lastError: '421 try again later',
        sentAt: null,
      },
      {
        id: 3,
        status: 'failed',
        attempts: 2,
        nextAttemptAt: '2026-03-02T10:05:00Z',
        lastError: '550 no such user',
        sentAt: null,
      },
    ]);
    expect(pick('sent').map((r) => r.id)).toEqual([1]);
    expect(pick('pending').map((r) => r.id)).toEqual([2]);
    expect(pick('failed').map((r) => r.id)).toEqual([3]);
    expect(store.dueOutbox('2026-03-02T10:04:59Z')).toEqual([]);
    expect(store.dueOutbox('2026-03-02T10:05:00Z')).toEqual([2]);
    expect(store.getOutbox(2)?.messageId).toBe('<b@x>');
    expect(store.getOutbox(99)).toBeUndefined();
    expect(() => store.markSent(99, NOW)).toThrow('markSent: no outbox row 99');
    expect(() => store.markAttemptFailed(99, 'x', null)).toThrow('markAttemptFailed: no outbox row 99');
  });
});

describe('countOutbox (rate caps)', () => {
  beforeEach(() => {
    store.saveCase(sampleCase());
    store.saveCase(sampleCase('VM-2026-0002'));
    const rows: Array<Partial<Parameters<typeof outboxRow>[0]>> = [
      { messageId: '<a@x>', types: ['RK'], createdAt: '2026-03-02T09:00:00Z' },
      { messageId: '<b@x>', types: ['EP'], createdAt: '2026-03-02T09:30:00.000Z' },
      {
        messageId: '<c@x>',
        types: ['GE', 'GI'],
        caseId: 'VM-2026-0002',
        createdAt: '2026-03-02T09:45:00+00:00',
      },
      { messageId: '<quarantine.1@x>', types: ['GI'], caseId: null, createdAt: '2026-03-02T09:59:59Z' },
      { messageId: '<d@x>', types: ['CK'], to: ['Other@Example.net'], createdAt: NOW },
      { messageId: '<old@x>', types: ['RK'], createdAt: '2026-03-02T08:59:59Z' },
    ];
    for (const r of rows) store.addOutbox(outboxRow(r));
  });

  it('counts rows to one recipient (any letter case) since an instant, in any instant format', () => {
    expect(store.countOutbox({ to: 'FINDER@example.net', since: '2026-03-02T09:00:00Z' })).toBe(4);
    expect(store.countOutbox({ to: 'finder@example.net', since: '2026-03-02T09:00:00.001Z' })).toBe(3);
    expect(store.countOutbox({ to: 'other@example.net', since: '2026-03-02T00:00:00Z' })).toBe(1);
    expect(store.countOutbox({ to: 'nobody@example.net', since: '2026-03-02T00:00:00Z' })).toBe(0);
  });

  it('narrows by case, by codes and by Message-ID prefix', () => {
    const since = '2026-03-02T09:00:00Z';
    const to = 'finder@example.net';
    expect(store.countOutbox({ to, since, caseId: 'vm-2026-0001' })).toBe(2);
    expect(store.countOutbox({ to, since, anyOfTypes: ['RK', 'GE'] })).toBe(2);
    expect(store.countOutbox({ to, since, caseId: 'VM-2026-0002', anyOfTypes: ['GE'] })).toBe(1);
    expect(store.countOutbox({ to, since, messageIdPrefix: '<quarantine.' })).toBe(1);
    expect(store.countOutbox({ to, since, messageIdPrefix: '<quarantine%' })).toBe(0);
  });
});

describe('timers', () => {
  beforeEach(() => {
    store.saveCase(sampleCase('VM-2026-0001'));
    store.saveCase(sampleCase('VM-2026-0002'));
  });

  it('upserts by (case, id), clears, and gives the due ones by due instant', () => {
    store.setTimer('VM-2026-0001', {
      id: 'expiry:E1',
      kind: 'embargo-expiry',
      due: '2026-04-15T23:59:59Z',
      ref: 'E1',
    });
    store.setTimer('VM-2026-0001', {
      id: 'rsvp:E2',
      kind: 'rsvp-deadline',
      due: '2026-03-09T10:00:00Z',
      ref: 'E2',
    });
    store.setTimer('VM-2026-0002', {
      id: 'expiry:E1',
      kind: 'embargo-expiry',
      due: '2026-03-09T10:00:00Z',
      ref: 'E1',
    });
    // Setting the same id again moves the timer.
    store.setTimer('VM-2026-0001', {
      id: 'expiry:E1',
      kind: 'embargo-expiry',
      due: '2026-03-20T23:59:59Z',
      ref: 'E1',
    });

    expect(store.dueTimers('2026-03-09T09:59:59Z')).toEqual([]);
    expect(store.dueTimers('2026-03-09T10:00:00Z')).toEqual([
      {
        caseId: 'VM-2026-0001',
        timer: { id: 'rsvp:E2', kind: 'rsvp-deadline', due: '2026-03-09T10:00:00Z', ref: 'E2' },
      },
      {
        caseId: 'VM-2026-0002',
        timer: { id: 'expiry:E1', kind: 'embargo-expiry', due: '2026-03-09T10:00:00Z', ref: 'E1' },
      },
    ]);
    expect(
      store.dueTimers('2026-12-31T00:00:00Z').map((t) => `${t.caseId} ${t.timer.id} ${t.timer.due}`),
    ).toEqual([
      'VM-2026-0001 rsvp:E2 2026-03-09T10:00:00Z',
      'VM-2026-0002 expiry:E1 2026-03-09T10:00:00Z',
      'VM-2026-0001 expiry:E1 2026-03-20T23:59:59Z',
    ]);

    store.clearTimer('VM-2026-0001', 'rsvp:E2');
    store.clearTimer('VM-2026-0001', 'no-such-timer');
    expect(store.dueTimers('2026-12-31T00:00:00Z').map((t) => `${t.caseId} ${t.timer.id}`)).toEqual([
      'VM-2026-0002 expiry:E1',
      'VM-2026-0001 expiry:E1',
    ]);
    expect(count('timers')).toBe(2);
  });

  it('refuses a timer whose due is not an instant', () => {
    expect(() =>
      store.setTimer('VM-2026-0001', { id: 't', kind: 'rsvp-reminder', due: '2026-13-45', ref: 'E2' }),
    ).toThrow('setTimer t due: not an RFC 3339 instant: "2026-13-45"');
  });
});

describe('quarantine', () => {
  it('adds, lists, gets and deletes entries (the raw message stays)', () => {
    const raw1 = store.addRawMessage('<q1@example.net>', Buffer.from('one'), NOW);
    const raw2 = store.addRawMessage(null, Buffer.from('two'), NOW);
    const q1 = store.addQuarantine({
      messageId: '<q1@example.net>',
      from: 'stranger@example.com',
      reason: 'not-a-participant',
      at: NOW,
      detail: 'names VM-2026-0001',
      rawId: raw1,
    });
    const q2 = store.addQuarantine({
      messageId: null,
      from: null,
      reason: 'malformed',
      at: '2026-03-02T11:00:00Z',
      detail: '',
      rawId: raw2,
    });
    const first = {
      id: q1,
      messageId: '<q1@example.net>',
      from: 'stranger@example.com',
      reason: 'not-a-participant',
      at: NOW,
      detail: 'names VM-2026-0001',
      rawId: raw1,
    };
    const second = {
      id: q2,
      messageId: null,
      from: null,
      reason: 'malformed',
      at: '2026-03-02T11:00:00Z',
      detail: '',
      rawId: raw2,
    };
    expect(store.listQuarantine()).toStrictEqual([first, second]);
    expect(store.getQuarantine(q2)).toStrictEqual(second);
    store.deleteQuarantine(q1);
    expect(store.getQuarantine(q1)).toBeUndefined();
    expect(store.listQuarantine()).toStrictEqual([second]);
    expect(store.getRawMessage(raw1)).toStrictEqual(Buffer.from('one'));
  });

  it('refuses an entry without its raw message', () => {
    expect(() =>
      store.addQuarantine({
        messageId: null,
        from: null,
        reason: 'malformed',
        at: NOW,
        detail: '',
        rawId: 7,
      }),
    ).toThrow('FOREIGN KEY constraint failed');
  });
});

describe('contacts', () => {
  it('upserts and finds contacts by email, case-insensitively', () => {
    store.upsertContact({ email: 'PSIRT@Vendor.example', name: 'Vendor', maxEmbargoDays: 14, pgpKey: null });
    expect(store.getContact('psirt@vendor.example')).toStrictEqual({
      email: 'psirt@vendor.example',
      name: 'Vendor',
      maxEmbargoDays: 14,
      pgpKey: null,
    });
    store.upsertContact({ email: 'psirt@vendor.example', name: null, maxEmbargoDays: null, pgpKey: 'KEY' });
    expect(store.getContact('Psirt@Vendor.Example')).toStrictEqual({
      email: 'psirt@vendor.example',
      name: null,
      maxEmbargoDays: null,
      pgpKey: 'KEY',
    });
    expect(store.getContact('other@vendor.example')).toBeUndefined();
  });
});

describe('outbox stats', () => {
  it('count pending and failed rows and give the oldest pending creation time', () => {
    expect(store.outboxStats()).toEqual({
      pending: 0,
      retrying: 0,
      failed: 0,
      oldestPendingAt: null,
      lastError: null,
    });
    store.saveCase(sampleCase());
    const a = store.addOutbox(outboxRow({ messageId: '<a@bot.example>', createdAt: '2026-03-01T00:00:00Z' }));
    store.addOutbox(outboxRow({ messageId: '<b@bot.example>', createdAt: '2026-03-02T00:00:00Z' }));
    const c = store.addOutbox(outboxRow({ messageId: '<c@bot.example>' }));
    store.markSent(a, NOW);
    store.markAttemptFailed(c, 'ESMTP_PERM: 550', null);
    expect(store.outboxStats()).toEqual({
      pending: 1,
      retrying: 0,
      failed: 1,
      oldestPendingAt: '2026-03-02T00:00:00Z',
      lastError: null,
    });
    const d = store.addOutbox(outboxRow({ messageId: '<d@bot.example>' }));
    store.markAttemptFailed(d, 'ESMTP_TEMP: ECONNREFUSED', '2026-03-02T10:01:00Z');
    expect(store.outboxStats()).toMatchObject({
      pending: 2,
      retrying: 1,
      lastError: 'ESMTP_TEMP: ECONNREFUSED',
    });
  });
});

describe('imap cursors', () => {
  it('are kept per mailbox, replaced on set, and survive a reopen', () => {
    expect(store.getImapCursor('INBOX')).toBeUndefined();
    store.setImapCursor({ mailbox: 'INBOX', uidValidity: '1700000000', lastUid: 5, updatedAt: NOW });
    store.setImapCursor({ mailbox: 'Other', uidValidity: '4294967295', lastUid: 1, updatedAt: NOW });
    store.setImapCursor({ mailbox: 'INBOX', uidValidity: '1700000000', lastUid: 9, updatedAt: NOW });
    expect(reopen().getImapCursor('INBOX')).toEqual({
      mailbox: 'INBOX',
      uidValidity: '1700000000',
      lastUid: 9,
      updatedAt: NOW,
    });
    expect(store.getImapCursor('Other')?.uidValidity).toBe('4294967295');
  });

  it('refuses a UIDVALIDITY that is not a number and a negative UID', () => {
    expect(() =>
      store.setImapCursor({ mailbox: 'INBOX', uidValidity: 'abc', lastUid: 1, updatedAt: NOW }),
    ).toThrow(/UIDVALIDITY/);
    expect(() =>
      store.setImapCursor({ mailbox: 'INBOX', uidValidity: '1', lastUid: -1, updatedAt: NOW }),
    ).toThrow(/last UID/);
  });
});

describe('transactions', () => {
  function writeEverything(): void {
    const n = store.nextCaseNumber('VM', 2026);
    const s = sampleCase(`VM-2026-${String(n).padStart(4, '0')}`);
    store.saveCase(s);
    store.addLedger({
      messageId: '<m@x>',
      sha256: 'a',
      contentSha256: 'b',
      caseId: s.id,
      outcome: 'applied',
      at: NOW,
    });
    store.addOutbox(outboxRow({ caseId: s.id }));
    store.setTimer(s.id, { id: 't', kind: 'embargo-expiry', due: NOW, ref: 'E1' });
  }

  it('returns the value of fn and commits', () => {
    expect(
      store.transaction(() => {
        writeEverything();
        return 'done';
      }),
    ).toBe('done');
    expect(store.listCases().map((c) => c.id)).toEqual(['VM-2026-0001']);
    expect(store.listOutbox()).toHaveLength(1);
  });

  it('rolls back everything when fn throws', () => {
    expect(() =>
      store.transaction(() => {
        writeEverything();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.listCases()).toEqual([]);
    expect(store.getLedger('<m@x>')).toBeUndefined();
    expect(store.listOutbox()).toEqual([]);
    expect(store.dueTimers('2100-01-01T00:00:00Z')).toEqual([]);
    expect(store.caseByOutgoingMessageId('<rk-1@cvd.example.org>')).toBeUndefined();
    expect(store.caseByEmbargoUid('VM-2026-0001-embargo-1@cvd.example.org')).toBeUndefined();
    for (const table of ['cases', 'log_events', 'embargo_uids', 'message_index', 'case_counters']) {
      expect(count(table)).toBe(0);
    }
    // The counter was rolled back too: the next case gets number 1 again.
    expect(store.nextCaseNumber('VM', 2026)).toBe(1);
  });

  it('nests: an inner failure caught by the outer fn undoes only the inner part', () => {
    store.transaction(() => {
      store.saveCase(sampleCase('VM-2026-0001'));
      expect(() =>
        store.transaction(() => {
          store.saveCase(sampleCase('VM-2026-0002'));
          throw new Error('inner');
        }),
      ).toThrow('inner');
      store.addOutbox(outboxRow());
    });
    expect(store.listCases().map((c) => c.id)).toEqual(['VM-2026-0001']);
    expect(store.listOutbox().map((r) => r.caseId)).toEqual(['VM-2026-0001']);
  });

  it('nests: an outer failure undoes the committed inner part too', () => {
    expect(() =>
      store.transaction(() => {
        store.transaction(() => writeEverything());
        throw new Error('outer');
      }),
    ).toThrow('outer');
    expect(store.listCases()).toEqual([]);
    expect(store.listOutbox()).toEqual([]);
  });

  it('checks case references at commit, so the order of writes inside does not matter', () => {
    store.transaction(() => {
      store.addOutbox(outboxRow());
      store.saveCase(sampleCase());
    });
    expect(store.listOutbox()).toHaveLength(1);
    expect(() =>
      store.transaction(() => {
        store.addOutbox(outboxRow({ caseId: 'VM-2026-0404', messageId: '<dangling@x>' }));
        store.setTimer('VM-2026-0404', { id: 't', kind: 'embargo-expiry', due: NOW, ref: 'E1' });
      }),
    ).toThrow('FOREIGN KEY constraint failed');
    expect(store.listOutbox()).toHaveLength(1);
    expect(store.dueTimers('2100-01-01T00:00:00Z')).toEqual([]);
    expect(store.db.inTransaction).toBe(false);
  });

  it('refuses an async fn', () => {
    expect(() => store.transaction(async () => undefined)).toThrow(
      'Transaction function cannot return a promise',
    );
  });
});
