import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Migration } from '../../src/store/migrations.js';
import { LATEST_VERSION, MIGRATIONS, appliedVersions, migrate } from '../../src/store/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { NOW, outboxRow, sampleCase, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let path: string;

beforeEach(() => {
  tmp = tempDir();
  path = join(tmp.dir, 'store.sqlite');
});

afterEach(() => {
  tmp.cleanup();
});

const TABLES = [
  'blob_chunks',
  'case_counters',
  'cases',
  'contacts',
  'embargo_uids',
  'imap_cursors',
  'inbound_ledger',
  'log_events',
  'message_index',
  'outbox',
  'outbox_recipients',
  'quarantine',
  'raw_messages',
  'report_attachments',
  'reports',
  'schema_migrations',
  'timers',
];

describe('migrations', () => {
  it('are numbered 1, 2, … in order', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_VERSION).toBe(MIGRATIONS.length);
  });

  it('create every table on a new file', () => {
    const store = openSqliteStore(path);
    const tables = store.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => (r as { name: string }).name);
    expect(tables).toEqual(TABLES);
    expect(appliedVersions(store.db)).toEqual(MIGRATIONS.map((m) => m.version));
    store.close();
  });

  it('are not re-run when an existing database is reopened, and the data stays', () => {
    const first = openSqliteStore(path);
    first.saveCase(sampleCase());
    const recorded = first.db.prepare('SELECT version, name, applied_at FROM schema_migrations').all();
    first.close();

    const second = openSqliteStore(path);
    expect(second.db.prepare('SELECT version, name, applied_at FROM schema_migrations').all()).toEqual(
      recorded,
    );
    expect(migrate(second.db)).toEqual([]);
    expect(second.getCase('VM-2026-0001')).toStrictEqual(sampleCase());
    second.close();
  });

  it('migration 4 takes the log out of a snapshot JSON written before it; getCase gives the same case', () => {
    const first = openSqliteStore(path);
    const s = sampleCase();
    first.saveCase(s);
    // As version 3 stored it: the whole log inside the JSON (and in log_events).
    first.db.prepare('UPDATE cases SET snapshot = ?').run(JSON.stringify(s));
    first.db.prepare('DELETE FROM schema_migrations WHERE version = 4').run();
    first.close();

    const second = openSqliteStore(path);
    const row = second.db.prepare('SELECT snapshot FROM cases').get() as { snapshot: string };
    expect(JSON.parse(row.snapshot)).toStrictEqual({ ...s, log: [] });
    expect(Object.keys(JSON.parse(row.snapshot))).toEqual(Object.keys(s));
    expect(second.getCase(s.id)).toStrictEqual(s);
    second.close();
  });

  it('migration 5 indexes the recipients of outbox rows written before it, for the rate caps', () => {
    const first = openSqliteStore(path);
    first.saveCase(sampleCase());
    first.addOutbox(outboxRow({ messageId: '<a@x>', to: ['Finder@Example.NET'] }));
    first.addOutbox(outboxRow({ messageId: '<b@x>', to: ['other@example.net'] }));
    // As version 4 left it: no outbox_recipients table.
    first.db.exec('DROP TABLE outbox_recipients');
    first.db.prepare('DELETE FROM schema_migrations WHERE version = 5').run();
    first.close();

    const second = openSqliteStore(path);
    expect(
      second.db.prepare('SELECT outbox_id, email FROM outbox_recipients ORDER BY outbox_id').all(),
    ).toEqual([
      { outbox_id: 1, email: 'Finder@Example.NET' },
      { outbox_id: 2, email: 'other@example.net' },
    ]);
    expect(second.countOutbox({ to: 'finder@example.net', since: NOW })).toBe(1);
    second.close();
  });

  it('migration 6 keeps large values written before it in their own column, readable as before', () => {
    const db = new Database(path);
    migrate(db, MIGRATIONS.slice(0, 5));
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 0x61);
    db.prepare('INSERT INTO raw_messages (message_id, raw, received_at) VALUES (?, ?, ?)').run(
      '<m@x>',
      big,
      NOW,
    );
    db.close();

    const store = openSqliteStore(path);
    expect(store.db.prepare('SELECT chunks FROM raw_messages').all()).toEqual([{ chunks: 0 }]);
    expect(store.getRawMessage(1)?.equals(big)).toBe(true);
    // Written from now on: in slices.
    const id = store.addRawMessage('<n@x>', big, NOW);
    expect(
      store.db.prepare('SELECT chunks, length(raw) AS n FROM raw_messages WHERE id = ?').get(id),
    ).toEqual({
      chunks: 4,
      n: 0,
    });
    expect(store.getRawMessage(id)?.equals(big)).toBe(true);
    store.close();
  });

  it('apply only the new ones to an older database', () => {
    const v1: Migration = { version: 1, name: 'one', sql: 'CREATE TABLE a (x INTEGER) STRICT;' };
    const v2: Migration = { version: 2, name: 'two', sql: 'ALTER TABLE a ADD COLUMN y TEXT;' };
    const db = new Database(path);
    try {
      expect(migrate(db, [v1])).toEqual([1]);
      db.prepare('INSERT INTO a (x) VALUES (1)').run();
      expect(migrate(db, [v1, v2])).toEqual([2]);
      expect(migrate(db, [v1, v2])).toEqual([]);
      expect(db.prepare('SELECT x, y FROM a').all()).toEqual([{ x: 1, y: null }]);
      expect(appliedVersions(db)).toEqual([1, 2]);
    } finally {
      db.close();
    }
  });

  it('apply nothing when one migration fails', () => {
    const db = new Database(path);
    try {
      expect(() =>
        migrate(db, [
          { version: 1, name: 'ok', sql: 'CREATE TABLE a (x INTEGER);' },
          { version: 2, name: 'broken', sql: 'CREATE TABLE oops (' },
        ]),
      ).toThrow();
      expect(appliedVersions(db)).toEqual([]);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'a'").all()).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('refuse a database written by a newer build', () => {
    const db = new Database(path);
    try {
      migrate(db, [...MIGRATIONS, { version: LATEST_VERSION + 1, name: 'future', sql: 'SELECT 1;' }]);
    } finally {
      db.close();
    }
    expect(() => openSqliteStore(path)).toThrow(
      `the database schema is version ${LATEST_VERSION + 1}, newer than this vultron-mail knows (${LATEST_VERSION}): upgrade vultron-mail`,
    );
  });

  it('refuse a list whose versions are not strictly increasing', () => {
    const db = new Database(':memory:');
    try {
      expect(() =>
        migrate(db, [
          { version: 2, name: 'b', sql: '' },
          { version: 1, name: 'a', sql: '' },
        ]),
      ).toThrow('migrations must have strictly increasing integer versions (at 1)');
    } finally {
      db.close();
    }
  });
});
