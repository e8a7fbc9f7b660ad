/**
 * The store port: everything the case service, the outbox sender, the scheduler and the CLI
 * need from persistence. SQL lives only in the adapter (src/store/sqlite.ts); a PostgreSQL
 * adapter can implement the same interface later.
 *
 * All instants are RFC 3339 UTC strings; all methods are synchronous (better-sqlite3), and
 * `transaction(fn)` runs fn atomically (nested calls join the outer transaction).
 * Message-IDs are stored and looked up in their `<...>` form; case ids, embargo UIDs and contact
 * emails compare case-insensitively. A `caseId` written anywhere must name a saved case by the
 * time the (outermost) transaction commits.
 */
import type { CaseSnapshot, EMState, LogEntry, MessageCode, PXA, TimerRef } from '../protocol/index.js';

export interface CaseSummary {
  id: string;
  title: string;
  em: EMState;
  pxa: PXA;
  embargoEnd: string | null;
  participants: number;
}

export interface Contact {
  email: string;
  name: string | null;
  maxEmbargoDays: number | null;
  pgpKey: string | null;
}

export interface Attachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface Report {
  id: number;
  caseId: string;
  /** The inbound message that carried it (null for `case new`). */
  messageId: string | null;
  from: string;
  subject: string;
  text: string;
  attachments: Attachment[];
  receivedAt: string;
}

export type OutboxStatus = 'pending' | 'sent' | 'failed';

export interface OutboxRow {
  id: number;
  caseId: string | null;
  /** One recipient per row; an array for the JSON contract. */
  to: string[];
  subject: string;
  types: MessageCode[];
  status: OutboxStatus;
  attempts: number;
  /** Pre-assigned Message-ID, `<...>` form, kept across retries. */
  messageId: string;
  calendarMethod: 'REQUEST' | 'CANCEL' | 'DECLINECOUNTER' | null;
  /** The rendered RFC 822 message. */
  raw: Buffer;
  /** SMTP envelope sender (VERP address for bounce matching). */
  envelopeFrom: string;
  createdAt: string;
  nextAttemptAt: string;
  lastError: string | null;
  sentAt: string | null;
}

export interface OutboxStats {
  pending: number;
  /** Pending rows that already failed at least once (waiting for a retry). */
  retrying: number;
  failed: number;
  /** createdAt of the oldest pending row. */
  oldestPendingAt: string | null;
  /** The error of the most recently created pending row that failed. */
  lastError: string | null;
}

export type NewOutboxRow = Omit<OutboxRow, 'id' | 'status' | 'attempts' | 'lastError' | 'sentAt'>;

export interface LedgerEntry {
  messageId: string;
  /** SHA-256 of the raw bytes. */
  sha256: string;
  /** SHA-256 of the raw bytes without trace headers (DESIGN.md §2 "Duplicates"). */
  contentSha256: string;
  caseId: string | null;
  /** applied | ignored | quarantined | duplicate ... */
  outcome: string;
  at: string;
}

export interface QuarantineEntry {
  id: number;
  messageId: string | null;
  from: string | null;
  reason: string;
  at: string;
  detail: string;
  /** The raw message kept for release or audit. */
  rawId: number;
}

/** Which outbox rows `countOutbox` counts (rate caps, DESIGN.md §2 "Rate caps"). */
export interface OutboxCount {
  /** The one recipient of the row, compared case-insensitively. */
  to: string;
  /** Rows created at or after this instant. */
  since: string;
  /** Only rows of this case. */
  caseId?: string;
  /** Only rows whose `types` include one of these codes. */
  anyOfTypes?: readonly MessageCode[];
  /** Only rows whose Message-ID starts with this (e.g. `<quarantine.`). */
  messageIdPrefix?: string;
}

export interface StoredTimer {
  caseId: string;
  timer: TimerRef;
}

/** How far the IMAP watcher got in one mailbox (DESIGN.md §1: IDLE with a UID cursor). */
export interface ImapCursor {
  mailbox: string;
  /** UIDVALIDITY as a decimal string (IMAP allows up to 2^32 - 1). */
  uidValidity: string;
  /** Every message up to this UID was committed; the next fetch starts at lastUid + 1. */
  lastUid: number;
  updatedAt: string;
}

export interface Store {
  transaction<T>(fn: () => T): T;
  close(): void;

  /** Allocates the next case number for (prefix, year): 1, 2, … (restarts each year). */
  nextCaseNumber(prefix: string, year: number): number;
  getCase(id: string): CaseSnapshot | undefined;
  /** Inserts or replaces the snapshot, and appends log entries not yet stored. */
  saveCase(snapshot: CaseSnapshot): void;
  /** The number of log entries stored for the case (0 for no case): its version. */
  logLength(caseId: string): number;
  listCases(): CaseSummary[];
  /** The case an outgoing Message-ID of ours belongs to. */
  caseByOutgoingMessageId(messageId: string): string | undefined;
  /** The case an embargo event UID belongs to. */
  caseByEmbargoUid(uid: string): string | undefined;

  addReport(report: Omit<Report, 'id'>): number;
  getReports(caseId: string): Report[];

  getLedger(messageId: string): LedgerEntry | undefined;
  /** Records a new Message-ID; throws if it is already in the ledger (never applied twice). */
  addLedger(entry: LedgerEntry): void;
  /** Records a new outcome for a Message-ID already in the ledger (e.g. a released quarantine). */
  replaceLedger(entry: LedgerEntry): void;

  /** Keeps the raw inbound message (audit, quarantine release); returns its id. */
  addRawMessage(messageId: string | null, raw: Buffer, receivedAt: string): number;
  getRawMessage(id: number): Buffer | undefined;

  addOutbox(row: NewOutboxRow): number;
  listOutbox(filter?: { status?: OutboxStatus }): OutboxRow[];
  /** The row that was (or will be) sent with this Message-ID (bounce matching). */
  outboxByMessageId(messageId: string): OutboxRow | undefined;
  /** The number of rows (any status) matching the filter. */
  countOutbox(filter: OutboxCount): number;
  /**
   * The ids of the pending rows whose nextAttemptAt <= now, oldest first (ids only: a sender
   * reads one row's bytes at a time with getOutbox).
   */
  dueOutbox(now: string): number[];
  getOutbox(id: number): OutboxRow | undefined;
  /** For monitoring: counts, the oldest pending row, and the error of the latest retried row. */
  outboxStats(): OutboxStats;
  markSent(id: number, at: string): void;
  /** Records a failed attempt: attempts+1, the error, and either a retry time or final failure. */
  markAttemptFailed(id: number, error: string, retryAt: string | null): void;

  setTimer(caseId: string, timer: TimerRef): void;
  clearTimer(caseId: string, id: string): void;
  dueTimers(now: string): StoredTimer[];

  addQuarantine(entry: Omit<QuarantineEntry, 'id'>): number;
  listQuarantine(): QuarantineEntry[];
  getQuarantine(id: number): QuarantineEntry | undefined;
  deleteQuarantine(id: number): void;

  getImapCursor(mailbox: string): ImapCursor | undefined;
  setImapCursor(cursor: ImapCursor): void;

  upsertContact(contact: Contact): void;
  getContact(email: string): Contact | undefined;
}

export type { LogEntry };
