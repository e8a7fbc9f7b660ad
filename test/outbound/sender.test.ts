/**
 * The outbox sender: marks rows sent, retries with backoff, gives up after giveUpHours or on a
 * permanent failure and returns those rows. The store is a test double of the three port
 * methods the sender uses (the SQLite store is tested on its own).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_GIVE_UP_HOURS, backoffMs, nextAttemptAt, sendDue } from '../../src/outbound/sender.js';
import { TransportError } from '../../src/outbound/transports.js';
import type { Transport } from '../../src/outbound/transports.js';
import type { OutboxRow, Store } from '../../src/store/port.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function row(id: number, over: Partial<OutboxRow> = {}): OutboxRow {
  return {
    id,
    caseId: 'VM-2026-0001',
    to: [`p${id}@vendor.example`],
    subject: 's',
    types: ['GI'],
    status: 'pending',
    attempts: 0,
    messageId: `<VM-2026-0001.${id}@bot.example>`,
    calendarMethod: null,
    raw: Buffer.from('x'),
    envelopeFrom: `vultron+bounce-VM-2026-0001.${id}@bot.example`,
    createdAt: '2026-05-04T10:00:00Z',
    nextAttemptAt: '2026-05-04T10:00:00Z',
    lastError: null,
    sentAt: null,
    ...over,
  };
}

/** The four store methods, over an array, with the port's semantics. */
function memoryStore(rows: OutboxRow[]): Pick<
  Store,
  'dueOutbox' | 'getOutbox' | 'markSent' | 'markAttemptFailed'
> & {
  rows: OutboxRow[];
} {
  const find = (id: number) => {
    const r = rows.find((x) => x.id === id);
    if (!r) throw new Error(`no row ${id}`);
    return r;
  };
  return {
    rows,
    dueOutbox: (now) =>
      rows
        .filter((r) => r.status === 'pending' && Date.parse(r.nextAttemptAt) <= Date.parse(now))
        .sort((a, b) => a.id - b.id)
        .map((r) => r.id),
    getOutbox: (id) => {
      const r = rows.find((x) => x.id === id);
      return r ? { ...r } : undefined;
    },
    markSent(id, at) {
      Object.assign(find(id), { status: 'sent', sentAt: at });
    },
    markAttemptFailed(id, error, retryAt) {
      const r = find(id);
      Object.assign(r, {
        attempts: r.attempts + 1,
        lastError: error,
        ...(retryAt === null ? { status: 'failed' } : { nextAttemptAt: retryAt }),
      });
    },
  };
}

/** A transport that fails for the recipients it is told to, with the error it is given. */
function transport(failures: Record<string, Error> = {}): Transport & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    async send(r) {
      const failure = failures[r.to[0]!];
      if (failure) throw failure;
      sent.push(r.messageId);
    },
    async close() {},
  };
}

const temporary = () =>
  new TransportError('421 try later', { code: 'ESMTP_TEMP', temporary: true, responseCode: 421 });
const permanent = () =>
  new TransportError('550 no such user', { code: 'ESMTP_PERM', temporary: false, responseCode: 550 });

describe('backoffMs', () => {
  it.each([
    [0, 1 * MIN],
    [1, 1 * MIN],
    [2, 2 * MIN],
    [3, 4 * MIN],
    [4, 8 * MIN],
    [5, 16 * MIN],
    [6, 32 * MIN],
    [7, 64 * MIN],
    [8, 128 * MIN],
    [9, 256 * MIN],
    [10, 6 * HOUR],
    [11, 6 * HOUR],
    [2000, 6 * HOUR],
  ])('after %i failed attempts waits %i ms', (failures, ms) => {
    expect(backoffMs(failures)).toBe(ms);
  });
});

describe('nextAttemptAt', () => {
  const created = '2026-05-04T10:00:00Z';

  it('adds the backoff of this failure to now', () => {
    expect(nextAttemptAt({ attempts: 0, createdAt: created }, created, { temporary: true })).toBe(
      '2026-05-04T10:01:00Z',
    );
    expect(
      nextAttemptAt({ attempts: 3, createdAt: created }, '2026-05-04T10:07:00Z', { temporary: true }),
    ).toBe('2026-05-04T10:15:00Z');
  });

  it('gives up when the next attempt would fall past createdAt + giveUpHours', () => {
    expect(DEFAULT_GIVE_UP_HOURS).toBe(72);
    // 66 h after creation, 6 h more is exactly the deadline: still tried.
    expect(
      nextAttemptAt({ attempts: 20, createdAt: created }, '2026-05-07T04:00:00Z', { temporary: true }),
    ).toBe('2026-05-07T10:00:00Z');
    // One second later, the next attempt would be past it.
    expect(
      nextAttemptAt({ attempts: 20, createdAt: created }, '2026-05-07T04:00:01Z', { temporary: true }),
    ).toBeNull();
    expect(
      nextAttemptAt({ attempts: 0, createdAt: created }, created, { temporary: true, giveUpHours: 0 }),
    ).toBeNull();
  });

  it('gives up at once on a permanent failure', () => {
    expect(nextAttemptAt({ attempts: 0, createdAt: created }, created, { temporary: false })).toBeNull();
  });
});

describe('sendDue', () => {
  it('sends the due rows and marks them sent; rows not yet due wait', async () => {
    const store = memoryStore([row(1), row(2), row(3, { nextAttemptAt: '2026-05-04T11:00:00Z' })]);
    const t = transport();
    const result = await sendDue(store, t, { now: '2026-05-04T10:00:00Z' });
    expect(result).toEqual({ sent: 2, failed: 0, gaveUp: [] });
    expect(t.sent).toEqual(['<VM-2026-0001.1@bot.example>', '<VM-2026-0001.2@bot.example>']);
    expect(store.rows.map((r) => [r.status, r.sentAt])).toEqual([
      ['sent', '2026-05-04T10:00:00Z'],
      ['sent', '2026-05-04T10:00:00Z'],
      ['pending', null],
    ]);
  });

  it('reads each row when its turn comes: a row sent meanwhile (another run) is not sent again', async () => {
    const store = memoryStore([row(1), row(2)]);
    const t = transport();
    const send = t.send.bind(t);
    t.send = async (r) => {
      await send(r);
      // While row 1 goes out, another sender run delivers row 2.
      if (r.id === 1) store.markSent(2, '2026-05-04T10:00:00Z');
    };
    const result = await sendDue(store, t, { now: '2026-05-04T10:00:00Z' });
    expect(result).toEqual({ sent: 1, failed: 0, gaveUp: [] });
    expect(t.sent).toEqual(['<VM-2026-0001.1@bot.example>']);
  });

  it('records a temporary failure with its backoff and keeps going with the other rows', async () => {
    const store = memoryStore([row(1), row(2)]);
    const result = await sendDue(store, transport({ 'p1@vendor.example': temporary() }), {
      now: '2026-05-04T10:00:00Z',
    });
    expect(result).toEqual({ sent: 1, failed: 1, gaveUp: [] });
    expect(store.rows[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
      nextAttemptAt: '2026-05-04T10:01:00Z',
      lastError: 'ESMTP_TEMP: 421 try later',
    });
  });

  it('retries with growing delays until the row goes out', async () => {
    const store = memoryStore([row(1)]);
    const failures: Record<string, Error> = { 'p1@vendor.example': temporary() };
    const t = transport(failures);
    const times: string[] = [];
    for (let i = 0; i < 4; i++) {
      const now = store.rows[0]!.nextAttemptAt;
      times.push(now);
      if (i === 3) delete failures['p1@vendor.example'];
      await sendDue(store, t, { now });
    }
    expect(times).toEqual([
      '2026-05-04T10:00:00Z',
      '2026-05-04T10:01:00Z',
      '2026-05-04T10:03:00Z',
      '2026-05-04T10:07:00Z',
    ]);
    expect(store.rows[0]).toMatchObject({ status: 'sent', attempts: 3, sentAt: '2026-05-04T10:07:00Z' });
  });

  it('gives up on a permanent failure at once and returns the row', async () => {
    const store = memoryStore([row(1), row(2)]);
    const result = await sendDue(store, transport({ 'p2@vendor.example': permanent() }), {
      now: '2026-05-04T10:00:00Z',
    });
    expect(result.sent).toBe(1);
    expect(result.failed).toBe(1);
    expect(result.gaveUp).toEqual([
      { ...row(2), status: 'failed', attempts: 1, lastError: 'ESMTP_PERM: 550 no such user' },
    ]);
    expect(store.rows[1]).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('gives up on a temporary failure once the give-up time is reached, never silently', async () => {
    const store = memoryStore([row(1, { attempts: 14, nextAttemptAt: '2026-05-07T09:00:00Z' })]);
    const result = await sendDue(store, transport({ 'p1@vendor.example': temporary() }), {
      now: '2026-05-07T09:00:00Z',
    });
    expect(result.gaveUp.map((r) => [r.id, r.status, r.attempts])).toEqual([[1, 'failed', 15]]);
    expect(store.rows[0]!.status).toBe('failed');

    const shorter = memoryStore([row(1)]);
    const quick = await sendDue(shorter, transport({ 'p1@vendor.example': temporary() }), {
      now: '2026-05-04T10:00:00Z',
      giveUpHours: 0,
    });
    expect(quick.gaveUp).toHaveLength(1);
  });

  it('treats an unexpected error of a transport as temporary', async () => {
    const store = memoryStore([row(1)]);
    const result = await sendDue(store, transport({ 'p1@vendor.example': new TypeError('bug') }), {
      now: '2026-05-04T10:00:00Z',
    });
    expect(result).toEqual({ sent: 0, failed: 1, gaveUp: [] });
    expect(store.rows[0]).toMatchObject({ status: 'pending', lastError: 'TypeError: bug' });
  });
});
