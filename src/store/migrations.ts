/**
 * Numbered schema migrations of the SQLite store. Each is applied once, in order, inside one
 * IMMEDIATE transaction together with its row in `schema_migrations`; opening an up-to-date
 * database applies nothing. Never edit a released migration: add a new one.
 *
 * Conventions: STRICT tables; instants are RFC 3339 UTC text as given by the caller, plus an
 * integer `*_ms` twin (epoch milliseconds) wherever the store compares instants, so that
 * `2026-01-01T00:00:00Z` and `2026-01-01T00:00:00.000Z` compare equal; case ids, embargo UIDs
 * and emails compare case-insensitively (DESIGN.md §2 "Ids and UIDs"); references to a case are
 * checked at commit (DEFERRABLE INITIALLY DEFERRED), so within one transaction the order of
 * writes does not matter.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const CASE_REF = 'REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE contacts (
  email            TEXT PRIMARY KEY COLLATE NOCASE,
  name             TEXT,
  max_embargo_days INTEGER,
  pgp_key          TEXT
) STRICT;

-- The snapshot JSON is the source of truth; the other columns are denormalised for listing.
CREATE TABLE cases (
  id           TEXT PRIMARY KEY COLLATE NOCASE,
  title        TEXT NOT NULL,
  em           TEXT NOT NULL,
  pxa          TEXT NOT NULL,
  embargo_end  TEXT,
  participants INTEGER NOT NULL,
  snapshot     TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE case_counters (
  prefix  TEXT NOT NULL COLLATE NOCASE,
  year    INTEGER NOT NULL,
  counter INTEGER NOT NULL,
  PRIMARY KEY (prefix, year)
) STRICT;

CREATE TABLE reports (
  id          INTEGER PRIMARY KEY,
  case_id     TEXT NOT NULL COLLATE NOCASE ${CASE_REF},
  message_id  TEXT,
  sender      TEXT NOT NULL,
  subject     TEXT NOT NULL,
  body        TEXT NOT NULL,
  received_at TEXT NOT NULL
) STRICT;
CREATE INDEX reports_by_case ON reports (case_id, id);

CREATE TABLE report_attachments (
  report_id    INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
  position     INTEGER NOT NULL,
  filename     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  content      BLOB NOT NULL,
  PRIMARY KEY (report_id, position)
) STRICT;

-- One row per LogEntry of a case's snapshot (append-only copy, for queries and audit).
CREATE TABLE log_events (
  case_id TEXT NOT NULL COLLATE NOCASE ${CASE_REF},
  idx     INTEGER NOT NULL,
  at      TEXT NOT NULL,
  kind    TEXT NOT NULL,
  sender  TEXT,
  types   TEXT NOT NULL,
  detail  TEXT NOT NULL,
  PRIMARY KEY (case_id, idx)
) STRICT;

-- Our outgoing Message-IDs -> case (threading of replies).
CREATE TABLE message_index (
  message_id TEXT PRIMARY KEY,
  case_id    TEXT NOT NULL COLLATE NOCASE ${CASE_REF}
) STRICT;
CREATE INDEX message_index_by_case ON message_index (case_id);

-- Embargo event UIDs -> case (calendar replies).
CREATE TABLE embargo_uids (
  uid     TEXT PRIMARY KEY COLLATE NOCASE,
  case_id TEXT NOT NULL COLLATE NOCASE ${CASE_REF}
) STRICT;
CREATE INDEX embargo_uids_by_case ON embargo_uids (case_id);

CREATE TABLE inbound_ledger (
  message_id     TEXT PRIMARY KEY,
  sha256         TEXT NOT NULL,
  content_sha256 TEXT NOT NULL,
  case_id        TEXT COLLATE NOCASE ${CASE_REF},
  outcome        TEXT NOT NULL,
  at             TEXT NOT NULL
) STRICT;

CREATE TABLE raw_messages (
  id          INTEGER PRIMARY KEY,
  message_id  TEXT,
  raw         BLOB NOT NULL,
  received_at TEXT NOT NULL
) STRICT;
CREATE INDEX raw_messages_by_message_id ON raw_messages (message_id);

CREATE TABLE outbox (
  id               INTEGER PRIMARY KEY,
  case_id          TEXT COLLATE NOCASE ${CASE_REF},
  recipients       TEXT NOT NULL,
  subject          TEXT NOT NULL,
  types            TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  message_id       TEXT NOT NULL UNIQUE,
  calendar_method  TEXT CHECK (calendar_method IN ('REQUEST', 'CANCEL', 'DECLINECOUNTER')),
  raw              BLOB NOT NULL,
  envelope_from    TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  next_attempt_at  TEXT NOT NULL,
  next_attempt_ms  INTEGER NOT NULL,
  last_error       TEXT,
  sent_at          TEXT
) STRICT;
CREATE INDEX outbox_by_status ON outbox (status, id);
CREATE INDEX outbox_due ON outbox (status, next_attempt_ms, id);

CREATE TABLE timers (
  case_id TEXT NOT NULL COLLATE NOCASE ${CASE_REF},
  id      TEXT NOT NULL,
  kind    TEXT NOT NULL,
  due     TEXT NOT NULL,
  due_ms  INTEGER NOT NULL,
  ref     TEXT NOT NULL,
  PRIMARY KEY (case_id, id)
) STRICT;
CREATE INDEX timers_due ON timers (due_ms);

CREATE TABLE quarantine (
  id         INTEGER PRIMARY KEY,
  message_id TEXT,
  sender     TEXT,
  reason     TEXT NOT NULL,
  at         TEXT NOT NULL,
  detail     TEXT NOT NULL,
  raw_id     INTEGER NOT NULL REFERENCES raw_messages(id)
) STRICT;
`,
  },
  {
    version: 2,
    name: 'imap cursor',
    sql: `
-- The IMAP watcher's position per mailbox: every message with a UID up to last_uid under this
-- UIDVALIDITY was committed (and moved away); a changed UIDVALIDITY means a rescan from 0.
CREATE TABLE imap_cursors (
  mailbox      TEXT PRIMARY KEY,
  uid_validity TEXT NOT NULL,
  last_uid     INTEGER NOT NULL,
  updated_at   TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 3,
    name: 'outbox creation instant',
    sql: `
-- Rate caps count a recipient's rows of the last hour: an indexed instant keeps that count from
-- scanning the whole outbox as it grows.
ALTER TABLE outbox ADD COLUMN created_ms INTEGER;
UPDATE outbox SET created_ms = CAST(round((julianday(created_at) - 2440587.5) * 86400000) AS INTEGER);
CREATE INDEX outbox_by_created ON outbox (created_ms);
`,
  },
  {
    version: 4,
    name: 'case log out of the snapshot JSON',
    sql: `
-- The log lives in log_events only (every entry already has its row there): the snapshot JSON
-- keeps an empty "log" in its place and no longer grows with the case's history. getCase reads
-- the log from the rows.
UPDATE cases SET snapshot = json_replace(snapshot, '$.log', json_array());
`,
  },
  {
    version: 5,
    name: 'outbox recipients index',
    sql: `
-- Rate caps count one recipient's rows of the last hour: rows indexed by (recipient, instant)
-- instead of reading the recipients JSON of every row of the hour.
CREATE TABLE outbox_recipients (
  outbox_id  INTEGER NOT NULL REFERENCES outbox(id),
  email      TEXT NOT NULL COLLATE NOCASE,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (outbox_id, email)
) STRICT;
CREATE INDEX outbox_recipients_by_email ON outbox_recipients (email, created_ms);
INSERT OR IGNORE INTO outbox_recipients (outbox_id, email, created_ms)
  SELECT o.id, r.value, o.created_ms FROM outbox o, json_each(o.recipients) r;
`,
  },
  {
    version: 6,
    name: 'large blobs in chunks',
    sql: `
-- A value over 1 MiB (a raw message, a rendered outbox mail, a report attachment) is kept in
-- slices of 1 MiB here, its own column left empty and \`chunks\` set to their number: SQLite
-- copies a value twice on insert, so a 35 MB message made ~90 MB of memory at once.
CREATE TABLE blob_chunks (
  id    INTEGER PRIMARY KEY,
  kind  TEXT NOT NULL CHECK (kind IN ('raw', 'outbox', 'attachment')),
  owner INTEGER NOT NULL,
  seq   INTEGER NOT NULL,
  data  BLOB NOT NULL,
  UNIQUE (kind, owner, seq)
) STRICT;
ALTER TABLE raw_messages ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_attachments ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;
`,
  },
];

/** The schema version this build of vultron-mail writes. */
export const LATEST_VERSION: number = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

function checkOrder(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= previous) {
      throw new Error(`migrations must have strictly increasing integer versions (at ${m.version})`);
    }
    previous = m.version;
  }
}

/** The versions recorded as applied, ascending (empty for a new database). */
export function appliedVersions(db: Database): number[] {
  const table = db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    )
    .get();
  if (!table) return [];
  return db
    .prepare<[], { version: number }>('SELECT version FROM schema_migrations ORDER BY version')
    .all()
    .map((r) => r.version);
}

/**
 * Applies the migrations not yet recorded, in one IMMEDIATE transaction (so two processes
 * opening the same new file do not both migrate it). Returns the versions applied by this
 * call: `[]` when the database was already up to date. Refuses a database written by a newer
 * build.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkOrder(migrations);
  const latest = migrations.reduce((v, m) => Math.max(v, m.version), 0);
  const run = db.transaction((): number[] => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT`);
    const done = new Set(appliedVersions(db));
    const newest = Math.max(0, ...done);
    if (newest > latest) {
      throw new Error(
        `the database schema is version ${newest}, newer than this vultron-mail knows (${latest}): upgrade vultron-mail`,
      );
    }
    const record = db.prepare<[number, string]>(
      'INSERT INTO schema_migrations (version, name) VALUES (?, ?)',
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name);
      applied.push(m.version);
    }
    return applied;
  });
  return run.immediate();
}
