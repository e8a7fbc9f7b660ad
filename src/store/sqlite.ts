/**
 * The SQLite implementation of the store port (better-sqlite3, synchronous).
 *
 * - WAL journal, `synchronous = FULL` (a commit survives power loss, not only a crash; only
 *   the marks of `relaxed()` do without, their loss being harmless), foreign keys on, a busy
 *   timeout so that the daemon and a CLI command can share the file.
 * - Values over BLOB_CHUNK_BYTES are kept in `blob_chunks` slices (`insertWithBlob`,
 *   `readBlob`).
 * - `transaction(fn)`: the outermost call is `BEGIN IMMEDIATE` (the write lock is taken at
 *   once, so a read-check-write such as the ledger check cannot race another process); nested
 *   calls are savepoints of the outer transaction.
 * - The case snapshot is stored as JSON and returned exactly as saved; the other columns of
 *   `cases` and the `log_events`/`embargo_uids` rows are derived from it in `saveCase`. Its
 *   log is kept only in `log_events` (append-only rows), not in the JSON: a long case would
 *   otherwise rewrite its whole history on every change (migration 4).
 * - SQL lives only in src/store.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  CaseSnapshot,
  EMState,
  LogEntry,
  MessageCode,
  PXA,
  TimerKind,
  TimerRef,
} from '../protocol/index.js';
import { normEmail } from '../protocol/index.js';
import { migrate } from './migrations.js';
import type {
  Attachment,
  CaseSummary,
  Contact,
  ImapCursor,
  LedgerEntry,
  NewOutboxRow,
  OutboxCount,
  OutboxRow,
  OutboxStats,
  OutboxStatus,
  QuarantineEntry,
  Report,
  Store,
  StoredTimer,
} from './port.js';

/** How long a writer waits for another process's lock before failing (ms). */
export const BUSY_TIMEOUT_MS = 10_000;

interface CaseRow {
  id: string;
  title: string;
  em: string;
  pxa: string;
  embargo_end: string | null;
  participants: number;
  snapshot: string;
}

interface LogRow {
  at: string;
  kind: string;
  sender: string | null;
  types: string;
  detail: string;
}

/**
 * A blob longer than this is stored in `blob_chunks`, in slices of this size (migration 6), so
 * that inserting it never makes SQLite hold more than a slice or two at once.
 */
export const BLOB_CHUNK_BYTES = 1024 * 1024;
type BlobKind = 'raw' | 'outbox' | 'attachment';
const EMPTY = Buffer.alloc(0);

/** How many cases' logs SqliteStore keeps in memory (see readLog). */
const LOG_CACHE_CASES = 64;

function toLogEntry(r: LogRow): LogEntry {
  return Object.freeze({
    at: r.at,
    kind: r.kind,
    from: r.sender,
    types: Object.freeze(parseJson<MessageCode[]>(r.types)) as MessageCode[],
    detail: r.detail,
  });
}

interface ReportRow {
  id: number;
  case_id: string;
  message_id: string | null;
  sender: string;
  subject: string;
  body: string;
  received_at: string;
}

interface AttachmentRow {
  id: number;
  report_id: number;
  filename: string;
  content_type: string;
  content: Buffer;
  chunks: number;
}

interface LedgerRow {
  message_id: string;
  sha256: string;
  content_sha256: string;
  case_id: string | null;
  outcome: string;
  at: string;
}

interface OutboxDbRow {
  id: number;
  case_id: string | null;
  recipients: string;
  subject: string;
  types: string;
  status: string;
  attempts: number;
  message_id: string;
  calendar_method: string | null;
  raw: Buffer;
  chunks: number;
  envelope_from: string;
  created_at: string;
  next_attempt_at: string;
  last_error: string | null;
  sent_at: string | null;
}

interface TimerRow {
  case_id: string;
  id: string;
  kind: string;
  due: string;
  ref: string;
}

interface QuarantineRow {
  id: number;
  message_id: string | null;
  sender: string | null;
  reason: string;
  at: string;
  detail: string;
  raw_id: number;
}

interface CursorRow {
  mailbox: string;
  uid_validity: string;
  last_uid: number;
  updated_at: string;
}

interface ContactRow {
  email: string;
  name: string | null;
  max_embargo_days: number | null;
  pgp_key: string | null;
}

/** Epoch milliseconds of an RFC 3339 instant; throws on anything else. */
function instantMs(value: string, what: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new Error(`${what}: not an RFC 3339 instant: ${JSON.stringify(value)}`);
  return ms;
}

/** Message-IDs are stored in their `<...>` form, whatever form the caller has. */
export function normMessageId(messageId: string): string {
  const id = messageId.trim();
  return id.startsWith('<') && id.endsWith('>') ? id : `<${id.replace(/^<|>$/g, '')}>`;
}

function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

function toOutboxRow(r: OutboxDbRow, raw: Buffer): OutboxRow {
  return {
    id: r.id,
    caseId: r.case_id,
    to: parseJson<string[]>(r.recipients),
    subject: r.subject,
    types: parseJson<MessageCode[]>(r.types),
    status: r.status as OutboxStatus,
    attempts: r.attempts,
    messageId: r.message_id,
    calendarMethod: r.calendar_method as OutboxRow['calendarMethod'],
    raw,
    envelopeFrom: r.envelope_from,
    createdAt: r.created_at,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    sentAt: r.sent_at,
  };
}

function toQuarantine(r: QuarantineRow): QuarantineEntry {
  return {
    id: r.id,
    messageId: r.message_id,
    from: r.sender,
    reason: r.reason,
    at: r.at,
    detail: r.detail,
    rawId: r.raw_id,
  };
}

function toLedger(r: LedgerRow): LedgerEntry {
  return {
    messageId: r.message_id,
    sha256: r.sha256,
    contentSha256: r.content_sha256,
    caseId: r.case_id,
    outcome: r.outcome,
    at: r.at,
  };
}

/** The instant of a case's last change: its latest log entry, else its creation. */
function updatedAt(s: CaseSnapshot): string {
  const last = s.log[s.log.length - 1];
  return last ? last.at : s.createdAt;
}

export interface SqliteStore extends Store {
  /** The open better-sqlite3 handle (tests and maintenance only: keep SQL in src/store). */
  readonly db: Database.Database;
}

/**
 * Opens (creating it and its folder if needed) the SQLite database at `path` and applies
 * pending migrations. `:memory:` gives a private in-memory store.
 */
export function openSqliteStore(path: string): SqliteStore {
  if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStoreImpl(db);
}

class SqliteStoreImpl implements SqliteStore {
  readonly db: Database.Database;
  private readonly q;
  /** countOutbox's statements, by SQL text (one per combination of filters). */
  private readonly counts = new Map<string, Database.Statement<Array<string | number>, { n: number }>>();
  /** Case id (lower case) → its committed log entries, least recently used first. */
  private readonly logCache = new Map<string, LogEntry[]>();

  constructor(db: Database.Database) {
    this.db = db;
    this.q = {
      nextCaseNumber: db.prepare<[string, number], { counter: number }>(
        `INSERT INTO case_counters (prefix, year, counter) VALUES (?, ?, 1)
         ON CONFLICT (prefix, year) DO UPDATE SET counter = counter + 1
         RETURNING counter`,
      ),
      getCase: db.prepare<[string], { snapshot: string }>('SELECT snapshot FROM cases WHERE id = ?'),
      upsertCase: db.prepare<[string, string, string, string, string | null, number, string, string, string]>(
        `INSERT INTO cases (id, title, em, pxa, embargo_end, participants, snapshot, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET
           title = excluded.title, em = excluded.em, pxa = excluded.pxa,
           embargo_end = excluded.embargo_end, participants = excluded.participants,
           snapshot = excluded.snapshot, created_at = excluded.created_at,
           updated_at = excluded.updated_at`,
      ),
      listCases: db.prepare<[], CaseRow>(
        'SELECT id, title, em, pxa, embargo_end, participants, snapshot FROM cases ORDER BY rowid',
      ),
      logCount: db.prepare<[string], { n: number }>(
        'SELECT coalesce(max(idx) + 1, 0) AS n FROM log_events WHERE case_id = ?',
      ),
      getLog: db.prepare<[string, number], LogRow>(
        'SELECT at, kind, sender, types, detail FROM log_events WHERE case_id = ? AND idx >= ? ORDER BY idx',
      ),
      addLog: db.prepare<[string, number, string, string, string | null, string, string]>(
        `INSERT INTO log_events (case_id, idx, at, kind, sender, types, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      addUid: db.prepare<[string, string]>(
        'INSERT INTO embargo_uids (uid, case_id) VALUES (?, ?) ON CONFLICT (uid) DO NOTHING',
      ),
      uidOwner: db.prepare<[string], { case_id: string }>('SELECT case_id FROM embargo_uids WHERE uid = ?'),
      caseByMessageId: db.prepare<[string], { case_id: string }>(
        'SELECT case_id FROM message_index WHERE message_id = ?',
      ),
      addMessageIndex: db.prepare<[string, string]>(
        'INSERT INTO message_index (message_id, case_id) VALUES (?, ?) ON CONFLICT (message_id) DO NOTHING',
      ),
      addReport: db.prepare<[string, string | null, string, string, string, string]>(
        `INSERT INTO reports (case_id, message_id, sender, subject, body, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      addAttachment: db.prepare<[number, number, string, string, Buffer, number]>(
        `INSERT INTO report_attachments (report_id, position, filename, content_type, content, chunks) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      addChunk: db.prepare<[string, number, number, Buffer]>(
        'INSERT INTO blob_chunks (kind, owner, seq, data) VALUES (?, ?, ?, ?)',
      ),
      chunkBytes: db.prepare<[string, number], { n: number }>(
        'SELECT coalesce(sum(length(data)), 0) AS n FROM blob_chunks WHERE kind = ? AND owner = ?',
      ),
      chunks: db.prepare<[string, number], { data: Buffer }>(
        'SELECT data FROM blob_chunks WHERE kind = ? AND owner = ? ORDER BY seq',
      ),
      getReports: db.prepare<[string], ReportRow>(
        'SELECT id, case_id, message_id, sender, subject, body, received_at FROM reports WHERE case_id = ? ORDER BY id',
      ),
      getAttachments: db.prepare<[string], AttachmentRow>(
        `SELECT a.rowid AS id, a.report_id, a.filename, a.content_type, a.content, a.chunks
         FROM report_attachments a JOIN reports r ON r.id = a.report_id
         WHERE r.case_id = ? ORDER BY a.report_id, a.position`,
      ),
      getLedger: db.prepare<[string], LedgerRow>('SELECT * FROM inbound_ledger WHERE message_id = ?'),
      addLedger: db.prepare<[string, string, string, string | null, string, string]>(
        `INSERT INTO inbound_ledger (message_id, sha256, content_sha256, case_id, outcome, at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      replaceLedger: db.prepare<[string, string, string, string | null, string, string]>(
        `INSERT INTO inbound_ledger (message_id, sha256, content_sha256, case_id, outcome, at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (message_id) DO UPDATE SET sha256 = excluded.sha256, content_sha256 = excluded.content_sha256,
           case_id = excluded.case_id, outcome = excluded.outcome, at = excluded.at`,
      ),
      addRaw: db.prepare<[string | null, Buffer, string, number]>(
        'INSERT INTO raw_messages (message_id, raw, received_at, chunks) VALUES (?, ?, ?, ?)',
      ),
      getRaw: db.prepare<[number], { raw: Buffer; chunks: number }>(
        'SELECT raw, chunks FROM raw_messages WHERE id = ?',
      ),
      addOutbox: db.prepare<
        [
          string | null,
          string,
          string,
          string,
          string,
          string | null,
          Buffer,
          number,
          string,
          string,
          string,
          number,
          number,
        ]
      >(
        `INSERT INTO outbox (case_id, recipients, subject, types, status, attempts, message_id, calendar_method,
                             raw, chunks, envelope_from, created_at, next_attempt_at, next_attempt_ms, created_ms)
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getOutbox: db.prepare<[number], OutboxDbRow>('SELECT * FROM outbox WHERE id = ?'),
      addOutboxRecipient: db.prepare<[number, string, number]>(
        'INSERT OR IGNORE INTO outbox_recipients (outbox_id, email, created_ms) VALUES (?, ?, ?)',
      ),
      listOutbox: db.prepare<[], OutboxDbRow>('SELECT * FROM outbox ORDER BY id'),
      outboxByMessageId: db.prepare<[string], OutboxDbRow>('SELECT * FROM outbox WHERE message_id = ?'),
      outboxByMessageIdNocase: db.prepare<[string], OutboxDbRow>(
        'SELECT * FROM outbox WHERE message_id = ? COLLATE NOCASE ORDER BY id LIMIT 1',
      ),
      listOutboxByStatus: db.prepare<[string], OutboxDbRow>(
        'SELECT * FROM outbox WHERE status = ? ORDER BY id',
      ),
      dueOutbox: db.prepare<[number], { id: number }>(
        `SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_ms <= ? ORDER BY id`,
      ),
      outboxCounts: db.prepare<[], { pending: number; retrying: number; failed: number }>(
        `SELECT coalesce(sum(status = 'pending'), 0) AS pending,
                coalesce(sum(status = 'pending' AND attempts > 0), 0) AS retrying,
                coalesce(sum(status = 'failed'), 0) AS failed
         FROM outbox WHERE status IN ('pending', 'failed')`,
      ),
      lastPendingError: db.prepare<[], { last_error: string }>(
        `SELECT last_error FROM outbox WHERE status = 'pending' AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1`,
      ),
      oldestPending: db.prepare<[], { created_at: string }>(
        `SELECT created_at FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1`,
      ),
      markSent: db.prepare<[string, number]>(
        `UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ? WHERE id = ?`,
      ),
      markRetry: db.prepare<[string, string, number, number]>(
        `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, next_attempt_ms = ?
         WHERE id = ?`,
      ),
      markFailed: db.prepare<[string, number]>(
        `UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`,
      ),
      setTimer: db.prepare<[string, string, string, string, number, string]>(
        `INSERT INTO timers (case_id, id, kind, due, due_ms, ref) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (case_id, id) DO UPDATE SET kind = excluded.kind, due = excluded.due,
           due_ms = excluded.due_ms, ref = excluded.ref`,
      ),
      clearTimer: db.prepare<[string, string]>('DELETE FROM timers WHERE case_id = ? AND id = ?'),
      dueTimers: db.prepare<[number], TimerRow>(
        'SELECT case_id, id, kind, due, ref FROM timers WHERE due_ms <= ? ORDER BY due_ms, case_id, id',
      ),
      addQuarantine: db.prepare<[string | null, string | null, string, string, string, number]>(
        'INSERT INTO quarantine (message_id, sender, reason, at, detail, raw_id) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      listQuarantine: db.prepare<[], QuarantineRow>('SELECT * FROM quarantine ORDER BY id'),
      getQuarantine: db.prepare<[number], QuarantineRow>('SELECT * FROM quarantine WHERE id = ?'),
      deleteQuarantine: db.prepare<[number]>('DELETE FROM quarantine WHERE id = ?'),
      upsertContact: db.prepare<[string, string | null, number | null, string | null]>(
        `INSERT INTO contacts (email, name, max_embargo_days, pgp_key) VALUES (?, ?, ?, ?)
         ON CONFLICT (email) DO UPDATE SET email = excluded.email, name = excluded.name,
           max_embargo_days = excluded.max_embargo_days, pgp_key = excluded.pgp_key`,
      ),
      getContact: db.prepare<[string], ContactRow>('SELECT * FROM contacts WHERE email = ?'),
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
      getCursor: db.prepare<[string], CursorRow>('SELECT * FROM imap_cursors WHERE mailbox = ?'),
      setCursor: db.prepare<[string, string, number, string]>(
        `INSERT INTO imap_cursors (mailbox, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (mailbox) DO UPDATE SET uid_validity = excluded.uid_validity,
           last_uid = excluded.last_uid, updated_at = excluded.updated_at`,
      ),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /**
   * One write whose loss to a power cut is harmless, committed without waiting for the disk
   * (`synchronous = NORMAL` for this commit only). In WAL mode it is still atomic and survives
   * a crash of the process; the next ordinary commit makes it durable as well, since the WAL
   * is synced in order. Used for the marks that only save repeating work: an outbox row sent or
   * tried (lost: it is sent again, with its Message-ID), the IMAP cursor (lost: the messages are
   * fetched again and the ledger makes them duplicates). Inside a transaction it is part of it.
   */
  private relaxed<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.q.syncNormal.run();
    try {
      return fn();
    } finally {
      this.q.syncFull.run();
    }
  }

  /**
   * Inserts a row holding a blob: `insert(inline, chunks)` writes the row with what goes in its
   * own column (the value, or nothing when it is chunked) and returns the row's id; the slices
   * of a large value follow in `blob_chunks`. One transaction.
   */
  private insertWithBlob(
    kind: BlobKind,
    value: Buffer,
    insert: (inline: Buffer, chunks: number) => number,
  ): number {
    const chunks = value.length > BLOB_CHUNK_BYTES ? Math.ceil(value.length / BLOB_CHUNK_BYTES) : 0;
    if (chunks === 0) return insert(value, 0);
    return this.transaction(() => {
      const owner = insert(EMPTY, chunks);
      for (let seq = 0; seq < chunks; seq++) {
        this.q.addChunk.run(
          kind,
          owner,
          seq,
          value.subarray(seq * BLOB_CHUNK_BYTES, (seq + 1) * BLOB_CHUNK_BYTES),
        );
      }
      return owner;
    });
  }

  /** The blob of a row: its own column, or its slices put together (one buffer, one copy). */
  private readBlob(kind: BlobKind, owner: number, inline: Buffer, chunks: number): Buffer {
    if (chunks === 0) return inline;
    const out = Buffer.allocUnsafe(this.q.chunkBytes.get(kind, owner)?.n ?? 0);
    let at = 0;
    let seen = 0;
    for (const { data } of this.q.chunks.iterate(kind, owner)) {
      at += data.copy(out, at);
      seen += 1;
    }
    if (seen !== chunks || at !== out.length) {
      throw new Error(`${kind} ${owner}: ${seen} of its ${chunks} stored slices found`);
    }
    return out;
  }

  private outboxRow(r: OutboxDbRow): OutboxRow {
    return toOutboxRow(r, this.readBlob('outbox', r.id, r.raw, r.chunks));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  nextCaseNumber(prefix: string, year: number): number {
    if (!Number.isInteger(year)) throw new Error(`nextCaseNumber: year must be an integer, got ${year}`);
    const row = this.q.nextCaseNumber.get(prefix, year);
    if (!row) throw new Error('nextCaseNumber: no counter returned');
    return row.counter;
  }

  getCase(id: string): CaseSnapshot | undefined {
    const row = this.q.getCase.get(id);
    if (!row) return undefined;
    const snapshot = parseJson<CaseSnapshot>(row.snapshot);
    snapshot.log = this.readLog(id);
    return snapshot;
  }

  /**
   * A case's log. Committed `log_events` rows are never changed or deleted, so the entries read
   * outside a transaction are kept (frozen, for the last LOG_CACHE_CASES cases used) and only
   * newer rows are read the next time: loading a case does not cost more as its history grows.
   * Inside a transaction the rows may be uncommitted ones, so they are read without the cache.
   */
  private readLog(id: string): LogEntry[] {
    const read = (from: number) => this.q.getLog.all(id, from).map(toLogEntry);
    if (this.db.inTransaction) return read(0);
    const key = id.toLowerCase();
    const cached = this.logCache.get(key) ?? [];
    const newer = read(cached.length);
    const log = newer.length > 0 ? cached.concat(newer) : cached;
    this.logCache.delete(key);
    this.logCache.set(key, log);
    if (this.logCache.size > LOG_CACHE_CASES) {
      const oldest = this.logCache.keys().next().value;
      if (oldest !== undefined) this.logCache.delete(oldest);
    }
    return log.slice();
  }

  logLength(caseId: string): number {
    return this.q.logCount.get(caseId)?.n ?? 0;
  }

  saveCase(snapshot: CaseSnapshot): void {
    this.transaction(() => {
      const id = snapshot.id;
      const stored = this.q.logCount.get(id)?.n ?? 0;
      if (snapshot.log.length < stored) {
        throw new Error(
          `saveCase(${id}): the snapshot has ${snapshot.log.length} log entries but ${stored} are stored; ` +
            'the log is append-only (a stale snapshot?)',
        );
      }
      this.q.upsertCase.run(
        id,
        snapshot.title,
        snapshot.em,
        snapshot.pxa,
        snapshot.embargo.end,
        snapshot.participants.length,
        JSON.stringify({ ...snapshot, log: [] }),
        snapshot.createdAt,
        updatedAt(snapshot),
      );
      for (let i = stored; i < snapshot.log.length; i++) {
        const e = snapshot.log[i];
        if (!e) continue;
        this.q.addLog.run(id, i, e.at, e.kind, e.from, JSON.stringify(e.types), e.detail);
      }
      for (const p of snapshot.embargo.proposals) {
        this.q.addUid.run(p.uid, id);
        const owner = this.q.uidOwner.get(p.uid)?.case_id;
        if (owner !== undefined && owner.toLowerCase() !== id.toLowerCase()) {
          throw new Error(`saveCase(${id}): embargo UID ${p.uid} already belongs to case ${owner}`);
        }
      }
    });
  }

  listCases(): CaseSummary[] {
    return this.q.listCases.all().map((r) => ({
      id: r.id,
      title: r.title,
      em: r.em as EMState,
      pxa: r.pxa as PXA,
      embargoEnd: r.embargo_end,
      participants: r.participants,
    }));
  }

  caseByOutgoingMessageId(messageId: string): string | undefined {
    return this.q.caseByMessageId.get(normMessageId(messageId))?.case_id;
  }

  caseByEmbargoUid(uid: string): string | undefined {
    return this.q.uidOwner.get(uid.trim())?.case_id;
  }

  addReport(report: Omit<Report, 'id'>): number {
    return this.transaction(() => {
      const { lastInsertRowid } = this.q.addReport.run(
        report.caseId,
        report.messageId,
        report.from,
        report.subject,
        report.text,
        report.receivedAt,
      );
      const id = Number(lastInsertRowid);
      report.attachments.forEach((a, i) => {
        this.insertWithBlob('attachment', a.content, (inline, chunks) =>
          Number(this.q.addAttachment.run(id, i, a.filename, a.contentType, inline, chunks).lastInsertRowid),
        );
      });
      return id;
    });
  }

  getReports(caseId: string): Report[] {
    const attachments = new Map<number, Attachment[]>();
    for (const a of this.q.getAttachments.all(caseId)) {
      const list = attachments.get(a.report_id) ?? [];
      const content = this.readBlob('attachment', a.id, a.content, a.chunks);
      list.push({ filename: a.filename, contentType: a.content_type, content });
      attachments.set(a.report_id, list);
    }
    return this.q.getReports.all(caseId).map((r) => ({
      id: r.id,
      caseId: r.case_id,
      messageId: r.message_id,
      from: r.sender,
      subject: r.subject,
      text: r.body,
      attachments: attachments.get(r.id) ?? [],
      receivedAt: r.received_at,
    }));
  }

  getLedger(messageId: string): LedgerEntry | undefined {
    const row = this.q.getLedger.get(normMessageId(messageId));
    return row ? toLedger(row) : undefined;
  }

  addLedger(entry: LedgerEntry): void {
    const existing = this.getLedger(entry.messageId);
    if (existing) {
      throw new Error(
        `addLedger: ${existing.messageId} is already in the ledger (outcome ${existing.outcome}); ` +
          'use replaceLedger to record a new outcome',
      );
    }
    this.q.addLedger.run(...ledgerParams(entry));
  }

  replaceLedger(entry: LedgerEntry): void {
    this.q.replaceLedger.run(...ledgerParams(entry));
  }

  addRawMessage(messageId: string | null, raw: Buffer, receivedAt: string): number {
    const id = messageId === null ? null : normMessageId(messageId);
    return this.insertWithBlob('raw', raw, (inline, chunks) =>
      Number(this.q.addRaw.run(id, inline, receivedAt, chunks).lastInsertRowid),
    );
  }

  getRawMessage(id: number): Buffer | undefined {
    const row = this.q.getRaw.get(id);
    return row ? this.readBlob('raw', id, row.raw, row.chunks) : undefined;
  }

  addOutbox(row: NewOutboxRow): number {
    const nextMs = instantMs(row.nextAttemptAt, 'addOutbox nextAttemptAt');
    const messageId = normMessageId(row.messageId);
    const createdMs = instantMs(row.createdAt, 'addOutbox createdAt');
    return this.transaction(() => {
      const id = this.insertWithBlob('outbox', row.raw, (inline, chunks) =>
        Number(
          this.q.addOutbox.run(
            row.caseId,
            JSON.stringify(row.to),
            row.subject,
            JSON.stringify(row.types),
            messageId,
            row.calendarMethod,
            inline,
            chunks,
            row.envelopeFrom,
            row.createdAt,
            row.nextAttemptAt,
            nextMs,
            createdMs,
          ).lastInsertRowid,
        ),
      );
      for (const to of row.to) this.q.addOutboxRecipient.run(id, to, createdMs);
      if (row.caseId !== null) this.q.addMessageIndex.run(messageId, row.caseId);
      return id;
    });
  }

  listOutbox(filter: { status?: OutboxStatus } = {}): OutboxRow[] {
    const rows =
      filter.status === undefined ? this.q.listOutbox.all() : this.q.listOutboxByStatus.all(filter.status);
    return rows.map((r) => this.outboxRow(r));
  }

  getOutbox(id: number): OutboxRow | undefined {
    const row = this.q.getOutbox.get(id);
    return row ? this.outboxRow(row) : undefined;
  }

  outboxByMessageId(messageId: string): OutboxRow | undefined {
    // The id of a bounce comes back inside a VERP address, whose case MTAs and address
    // normalisation do not keep (`cvd+bounce-vm-2026-0001.…@`): exact first, then ignoring case.
    const id = normMessageId(messageId);
    const row = this.q.outboxByMessageId.get(id) ?? this.q.outboxByMessageIdNocase.get(id);
    return row ? this.outboxRow(row) : undefined;
  }

  countOutbox(filter: OutboxCount): number {
    const since = instantMs(filter.since, 'countOutbox since');
    const where = ['r.email = ?', 'r.created_ms >= ?'];
    const args: Array<string | number> = [filter.to, since];
    if (filter.caseId !== undefined) {
      where.push('o.case_id = ?');
      args.push(filter.caseId);
    }
    if (filter.anyOfTypes !== undefined) {
      where.push(
        'EXISTS (SELECT 1 FROM json_each(o.types) t WHERE t.value IN (SELECT value FROM json_each(?)))',
      );
      args.push(JSON.stringify(filter.anyOfTypes));
    }
    if (filter.messageIdPrefix !== undefined) {
      where.push("o.message_id LIKE ? ESCAPE '\\'");
      args.push(`${filter.messageIdPrefix.replace(/[\\%_]/g, '\\$&')}%`);
    }
    const sql = `SELECT count(*) AS n FROM outbox_recipients r JOIN outbox o ON o.id = r.outbox_id WHERE ${where.join(' AND ')}`;
    let statement = this.counts.get(sql);
    if (!statement) {
      statement = this.db.prepare<Array<string | number>, { n: number }>(sql);
      this.counts.set(sql, statement);
    }
    return statement.get(...args)?.n ?? 0;
  }

  dueOutbox(now: string): number[] {
    return this.q.dueOutbox.all(instantMs(now, 'dueOutbox now')).map((r) => r.id);
  }

  outboxStats(): OutboxStats {
    const counts = this.q.outboxCounts.get() ?? { pending: 0, retrying: 0, failed: 0 };
    return {
      ...counts,
      oldestPendingAt: this.q.oldestPending.get()?.created_at ?? null,
      lastError: counts.retrying > 0 ? (this.q.lastPendingError.get()?.last_error ?? null) : null,
    };
  }

  markSent(id: number, at: string): void {
    this.relaxed(() => expectOne(this.q.markSent.run(at, id).changes, `markSent: no outbox row ${id}`));
  }

  markAttemptFailed(id: number, error: string, retryAt: string | null): void {
    const retryMs = retryAt === null ? null : instantMs(retryAt, 'markAttemptFailed retryAt');
    const changes = this.relaxed(() =>
      retryAt === null || retryMs === null
        ? this.q.markFailed.run(error, id).changes
        : this.q.markRetry.run(error, retryAt, retryMs, id).changes,
    );
    expectOne(changes, `markAttemptFailed: no outbox row ${id}`);
  }

  setTimer(caseId: string, timer: TimerRef): void {
    const dueMs = instantMs(timer.due, `setTimer ${timer.id} due`);
    this.q.setTimer.run(caseId, timer.id, timer.kind, timer.due, dueMs, timer.ref);
  }

  clearTimer(caseId: string, id: string): void {
    this.q.clearTimer.run(caseId, id);
  }

  dueTimers(now: string): StoredTimer[] {
    return this.q.dueTimers.all(instantMs(now, 'dueTimers now')).map((r) => ({
      caseId: r.case_id,
      timer: { id: r.id, kind: r.kind as TimerKind, due: r.due, ref: r.ref },
    }));
  }

  addQuarantine(entry: Omit<QuarantineEntry, 'id'>): number {
    const messageId = entry.messageId === null ? null : normMessageId(entry.messageId);
    return Number(
      this.q.addQuarantine.run(messageId, entry.from, entry.reason, entry.at, entry.detail, entry.rawId)
        .lastInsertRowid,
    );
  }

  listQuarantine(): QuarantineEntry[] {
    return this.q.listQuarantine.all().map(toQuarantine);
  }

  getQuarantine(id: number): QuarantineEntry | undefined {
    const row = this.q.getQuarantine.get(id);
    return row ? toQuarantine(row) : undefined;
  }

  deleteQuarantine(id: number): void {
    this.q.deleteQuarantine.run(id);
  }

  getImapCursor(mailbox: string): ImapCursor | undefined {
    const r = this.q.getCursor.get(mailbox);
    return r
      ? { mailbox: r.mailbox, uidValidity: r.uid_validity, lastUid: r.last_uid, updatedAt: r.updated_at }
      : undefined;
  }

  setImapCursor(cursor: ImapCursor): void {
    if (!/^\d+$/.test(cursor.uidValidity)) {
      throw new Error(`setImapCursor: UIDVALIDITY must be a decimal number, got ${cursor.uidValidity}`);
    }
    if (!Number.isSafeInteger(cursor.lastUid) || cursor.lastUid < 0) {
      throw new Error(`setImapCursor: last UID must be a non-negative integer, got ${cursor.lastUid}`);
    }
    this.relaxed(() =>
      this.q.setCursor.run(cursor.mailbox, cursor.uidValidity, cursor.lastUid, cursor.updatedAt),
    );
  }

  upsertContact(contact: Contact): void {
    this.q.upsertContact.run(normEmail(contact.email), contact.name, contact.maxEmbargoDays, contact.pgpKey);
  }

  getContact(email: string): Contact | undefined {
    const r = this.q.getContact.get(normEmail(email));
    return r
      ? { email: r.email, name: r.name, maxEmbargoDays: r.max_embargo_days, pgpKey: r.pgp_key }
      : undefined;
  }
}

function ledgerParams(e: LedgerEntry): [string, string, string, string | null, string, string] {
  return [normMessageId(e.messageId), e.sha256, e.contentSha256, e.caseId, e.outcome, e.at];
}

function expectOne(changes: number, message: string): void {
  if (changes !== 1) throw new Error(message);
}
