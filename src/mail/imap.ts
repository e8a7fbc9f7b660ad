/**
 * The IMAP watcher (DESIGN.md §1, §6): IDLE on one mailbox, a cursor of (UIDVALIDITY, last
 * UID) kept in the database, new messages fetched by UID range only.
 *
 * For each new message, in UID order:
 *   1. its bytes and INTERNALDATE are fetched (a batch is collected from imapflow's fetch
 *      iterator completely before any other command: a command issued inside an open fetch
 *      iterator deadlocks imapflow);
 *   2. `handle()` runs it through the inbound pipeline, which commits (ledger, case, outbox) in
 *      one store transaction, and says whether it is done or must be retried later;
 *   3. only then, once the messages of the batch are handled (or the pass stops), they are
 *      moved to `processedMailbox` by one command (MOVE, or imapflow's COPY + \Deleted +
 *      EXPUNGE where the server lacks MOVE; flagged instead if the server refuses);
 *   4. only then the cursor advances past their UIDs.
 * A crash between any two steps repeats at most steps 2-4 for the messages of that batch, and
 * the ledger makes the second run a no-op: nothing is lost and nothing is applied twice.
 *
 * Liveness: IDLE is restarted before the 29 minutes of RFC 2177 (`idleRenewMs`), a poll every
 * `pollMs` sends NOOP and looks for new UIDs (a dead IDLE goes unnoticed by imapflow itself),
 * every `reselectMs` the poll SELECTs the mailbox again instead (a session can keep a stale view
 * of a mailbox deleted and created again under it, which NOOP and STATUS do not show; a SELECT
 * costs more as the mailbox grows, ~15 ms at 10,000 messages in Dovecot, a NOOP does not), and
 * every command has a deadline: an overdue one counts as a dead connection, which is closed and
 * opened again with capped exponential backoff. A changed UIDVALIDITY resets the cursor to 0: the
 * mailbox is rescanned and the ledger turns the messages already applied into duplicates.
 */
import { ImapFlow } from 'imapflow';
import type { FetchMessageObject, ImapFlowOptions } from 'imapflow';
import type { ImapCursor } from '../store/port.js';

/** The configured mailbox (config `imap`). */
export interface ImapSettings {
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string };
  tls?: Record<string, unknown> | undefined;
  mailbox: string;
  processedMailbox: string;
}

/** What the watcher needs from the store. */
export interface CursorStore {
  getImapCursor(mailbox: string): ImapCursor | undefined;
  setImapCursor(cursor: ImapCursor): void;
}

/** One fetched message. `arrivedAt` is its INTERNALDATE (RFC 3339 UTC, to the second). */
export interface FetchedMessage {
  uid: number;
  raw: Buffer;
  arrivedAt: string;
}

/**
 * `done`: committed (applied, a duplicate, quarantined...): move it and advance the cursor.
 * `retry`: a temporary failure: leave it where it is and stop this pass; it is tried again.
 */
export type HandleResult = 'done' | 'retry';

/** The part of a pino logger the watcher uses. */
export interface WatcherLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WatcherTiming {
  /** NOOP + look for new mail this often, also while IDLE (the watchdog). Default 60 s. */
  pollMs: number;
  /**
   * A poll SELECTs the mailbox again instead of NOOP when the last SELECT is this old: it sees
   * a mailbox deleted and created again under the session. Default 10 min.
   */
  reselectMs: number;
  /** Restart IDLE after this long (RFC 2177: before 29 minutes). Default 25 min. */
  idleRenewMs: number;
  /** A command (or connect) that takes longer means a dead connection. Default 60 s. */
  commandTimeoutMs: number;
  /** Reconnect backoff: first delay, doubled per failure up to the cap. Default 1 s … 60 s. */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** At most this many messages, and about this many bytes, fetched per batch. */
  batchMessages: number;
  batchBytes: number;
}

export const DEFAULT_WATCHER_TIMING: WatcherTiming = {
  pollMs: 60_000,
  reselectMs: 10 * 60_000,
  idleRenewMs: 25 * 60_000,
  commandTimeoutMs: 60_000,
  backoffMinMs: 1_000,
  backoffMaxMs: 60_000,
  batchMessages: 25,
  batchBytes: 32 * 1024 * 1024,
};

export interface WatcherStatus {
  connected: boolean;
  /** The last pass that completed (fetched and handled everything it found), RFC 3339. */
  lastPollAt: string | null;
  lastError: string | null;
  /** Connection attempts that failed or connections that died, since the last good connect. */
  failures: number;
  /** The same, since the start (a counter). */
  lost: number;
  connects: number;
  uidValidity: string | null;
  lastUid: number | null;
  /** Messages handed to `handle()`, and UIDVALIDITY changes seen. */
  fetched: number;
  uidValidityChanges: number;
  /** The last pass stopped at a message that must be tried again (a temporary failure). */
  retryPending: boolean;
}

export interface WatcherDeps {
  settings: ImapSettings;
  store: CursorStore;
  handle: (message: FetchedMessage) => Promise<HandleResult>;
  logger: WatcherLogger;
  /** The clock (cursor timestamps, status); default the real one. */
  clock?: () => Date;
  timing?: Partial<WatcherTiming>;
  /** Extra imapflow options (tests: `doSTARTTLS`); merged last. */
  clientOptions?: Partial<ImapFlowOptions>;
}

/** The delay before reconnect attempt n (1, 2, …): min · 2^(n-1), capped. */
export function reconnectDelayMs(
  failures: number,
  timing: Pick<WatcherTiming, 'backoffMinMs' | 'backoffMaxMs'>,
) {
  const n = Math.max(1, Math.floor(failures));
  return Math.min(timing.backoffMinMs * 2 ** Math.min(n - 1, 30), timing.backoffMaxMs);
}

/** RFC 3339 UTC to the second, as every instant of the case data. */
export function isoSecond(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

class Timeout extends Error {
  override readonly name = 'Timeout';
}

/** The messages of one poll, in UID order, split into batches of bounded size. */
export function batches(
  metas: ReadonlyArray<{ uid: number; size: number }>,
  limits: Pick<WatcherTiming, 'batchMessages' | 'batchBytes'>,
): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const m of [...metas].sort((a, b) => a.uid - b.uid)) {
    if (
      current.length > 0 &&
      (current.length >= limits.batchMessages || bytes + m.size > limits.batchBytes)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m.uid);
    bytes += m.size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export class ImapWatcher {
  private readonly timing: WatcherTiming;
  private readonly clock: () => Date;
  private client: ImapFlow | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  /** When the mailbox was last SELECTed (performance.now()). */
  private selectedAt = 0;
  private pendingWake = false;
  private loop: Promise<void> | null = null;
  private readonly state: WatcherStatus = {
    connected: false,
    lastPollAt: null,
    lastError: null,
    failures: 0,
    lost: 0,
    connects: 0,
    uidValidity: null,
    lastUid: null,
    fetched: 0,
    uidValidityChanges: 0,
    retryPending: false,
  };

  constructor(private readonly deps: WatcherDeps) {
    this.timing = { ...DEFAULT_WATCHER_TIMING, ...deps.timing };
    this.clock = deps.clock ?? (() => new Date());
  }

  status(): WatcherStatus {
    return { ...this.state };
  }

  /** Starts watching in the background until `stop()`. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.watch();
  }

  /**
   * Stops: the message in hand is finished (handled, moved, cursor advanced), nothing new is
   * started, the session logs out (or is closed if the server does not answer).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.poke();
    await this.loop;
    this.loop = null;
  }

  /** Wakes the loop: look for new mail now (e.g. after an `exists` notification). */
  poke(): void {
    this.pendingWake = true;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /**
   * `run --once`: connect, handle everything pending in the mailbox, log out. Throws when the
   * server cannot be reached or a pass fails; returns the number of messages handed on.
   */
  async drainOnce(): Promise<number> {
    const before = this.state.fetched;
    const client = await this.connect({ select: false });
    try {
      if (await this.nothingNew(client)) return 0;
      await this.select(client);
      // Passes until one finds nothing new (mail may arrive while the first is handled).
      for (let pass = 0; pass < 100 && !this.stopping; pass++) {
        const n = await this.pass(client);
        if (n === 0) break;
      }
    } finally {
      await this.disconnect(client);
    }
    return this.state.fetched - before;
  }

  private async watch(): Promise<void> {
    while (!this.stopping) {
      let client: ImapFlow | null = null;
      try {
        client = await this.connect();
        this.state.failures = 0;
        await this.session(client);
      } catch (err) {
        this.state.failures += 1;
        this.state.lost += 1;
        this.state.lastError = errorText(err);
        const delay = reconnectDelayMs(this.state.failures, this.timing);
        this.deps.logger.warn(
          { err: this.state.lastError, failures: this.state.failures, retryInMs: delay },
          'imap: connection lost or failed; reconnecting',
        );
        if (client) await this.disconnect(client, true);
        await this.sleep(delay);
      } finally {
        this.state.connected = false;
      }
    }
  }

  /** One connected session: passes on every wake-up (IDLE news, the poll timer) until stopped. */
  private async session(client: ImapFlow): Promise<void> {
    while (!this.stopping) {
      await this.pass(client);
      if (this.stopping) break;
      const poked = await this.sleep(this.timing.pollMs);
      if (this.stopping) break;
      if (!client.usable) throw new Error('the connection was closed');
      if (!poked) {
        // The poll. A dead IDLE is noticed only by a command that gets no answer (the
        // deadline). Now and then SELECT again rather than NOOP: a session can keep a stale view
        // of a mailbox that was deleted and created again under it (Dovecot: NOOP and STATUS
        // then show no new mail, ever); a new SELECT sees the mailbox as it is.
        if (performance.now() - this.selectedAt >= this.timing.reselectMs) await this.select(client);
        else await this.deadline(client.noop(), 'NOOP');
      }
    }
    await this.disconnect(client);
  }

  /** SELECT the watched mailbox. */
  private async select(client: ImapFlow): Promise<void> {
    await this.deadline(client.mailboxOpen(this.deps.settings.mailbox), 'SELECT');
    this.selectedAt = performance.now();
  }

  /**
   * `run --once` on a new session: STATUS tells whether any UID above the cursor can exist, so
   * that a run with nothing new does not SELECT (whose cost grows with the mailbox).
   */
  private async nothingNew(client: ImapFlow): Promise<boolean> {
    const { settings, store } = this.deps;
    const status = await this.deadline(
      client.status(settings.mailbox, { messages: true, uidNext: true, uidValidity: true }),
      'STATUS',
    );
    if (!status) return false; // the SELECT that follows says why
    const cursor = store.getImapCursor(settings.mailbox);
    const uidValidity = status.uidValidity === undefined ? null : String(status.uidValidity);
    const sameMailbox = cursor !== undefined && uidValidity !== null && cursor.uidValidity === uidValidity;
    const nothing =
      status.messages === 0 ||
      (sameMailbox && status.uidNext !== undefined && status.uidNext <= cursor.lastUid + 1);
    if (!nothing) return false;
    this.state.uidValidity = uidValidity;
    this.state.lastUid = sameMailbox ? cursor.lastUid : null;
    this.state.retryPending = false;
    this.state.lastPollAt = isoSecond(this.clock());
    return true;
  }

  private async connect(opts: { select: boolean } = { select: true }): Promise<ImapFlow> {
    const s = this.deps.settings;
    const client = new ImapFlow({
      host: s.host,
      port: s.port,
      secure: s.secure,
      auth: { user: s.auth.user, pass: s.auth.pass },
      ...(s.tls ? { tls: s.tls as ImapFlowOptions['tls'] } : {}),
      logger: false,
      maxIdleTime: this.timing.idleRenewMs,
      // Enter IDLE right after each command (imapflow waits 15 s by default): new mail is seen at
      // once, and a poll shorter than 15 s no longer keeps IDLE from ever starting.
      autoIdleDelay: 250,
      connectionTimeout: this.timing.commandTimeoutMs,
      greetingTimeout: this.timing.commandTimeoutMs,
      // Longer than the poll: our poll with its deadline, not the socket timer, is the watchdog.
      socketTimeout: Math.max(this.timing.pollMs * 2, this.timing.commandTimeoutMs * 2, 60_000),
      clientInfo: { name: 'vultron-mail' },
      ...this.deps.clientOptions,
    });
    client.on('error', (err: unknown) => {
      this.state.lastError = errorText(err);
      this.deps.logger.warn({ err: this.state.lastError }, 'imap: connection error');
    });
    client.on('exists', () => this.poke());
    client.on('close', () => {
      this.state.connected = false;
      this.poke();
    });
    this.client = client;
    try {
      await this.deadline(client.connect(), 'connect');
      const created = await this.deadline(client.mailboxCreate(s.processedMailbox), 'CREATE').catch(
        (err: unknown) => {
          // Already there (some servers answer NO [ALREADYEXISTS]), or not allowed: moving will
          // say so, and the message is then flagged instead.
          if (err instanceof Timeout) throw err;
          return null;
        },
      );
      if (created?.created) this.deps.logger.info({ mailbox: s.processedMailbox }, 'imap: created mailbox');
      if (opts.select) await this.select(client);
    } catch (err) {
      client.close();
      throw err;
    }
    this.state.connected = true;
    this.state.connects += 1;
    this.state.lastError = null;
    this.deps.logger.info(
      {
        host: s.host,
        port: s.port,
        mailbox: s.mailbox,
        ...(client.mailbox ? { uidValidity: String(client.mailbox.uidValidity) } : {}),
      },
      'imap: connected',
    );
    return client;
  }

  private async disconnect(client: ImapFlow, force = false): Promise<void> {
    this.state.connected = false;
    if (this.client === client) this.client = null;
    if (!force && client.usable) {
      try {
        await this.deadline(client.logout(), 'LOGOUT', Math.min(this.timing.commandTimeoutMs, 5_000));
        return;
      } catch {
        // closed below
      }
    }
    client.close();
  }

  /**
   * One pass: every message above the cursor, in UID order. Returns how many were handed on.
   * Stops early (without error) on `retry` or when stopping.
   */
  private async pass(client: ImapFlow): Promise<number> {
    this.pendingWake = false;
    const { settings, store, logger } = this.deps;
    const mailbox = client.mailbox;
    if (!mailbox) throw new Error(`mailbox ${settings.mailbox} is not selected`);
    const uidValidity = String(mailbox.uidValidity);
    const cursor = store.getImapCursor(settings.mailbox);
    let last = 0;
    if (cursor && cursor.uidValidity === uidValidity) last = cursor.lastUid;
    else if (cursor) {
      this.state.uidValidityChanges += 1;
      logger.warn(
        { mailbox: settings.mailbox, was: cursor.uidValidity, now: uidValidity },
        'imap: UIDVALIDITY changed; rescanning the mailbox (the ledger skips what was applied)',
      );
      store.setImapCursor({
        mailbox: settings.mailbox,
        uidValidity,
        lastUid: 0,
        updatedAt: isoSecond(this.clock()),
      });
    }
    this.state.uidValidity = uidValidity;
    this.state.lastUid = last;

    let handled = 0;
    if (mailbox.exists > 0) {
      // Sizes only, by UID range (`last+1:*` also names the highest UID when nothing is newer,
      // hence the filter); collected completely before the next command.
      const metas = (
        await this.deadline(
          client.fetchAll(`${last + 1}:*`, { uid: true, size: true }, { uid: true }),
          'FETCH sizes',
        )
      )
        .filter((m) => m.uid > last)
        .map((m) => ({ uid: m.uid, size: m.size ?? 0 }));
      for (const batch of batches(metas, this.timing)) {
        if (this.stopping) break;
        const fetched = await this.deadline(
          client.fetchAll(batch.join(','), { uid: true, source: true, internalDate: true }, { uid: true }),
          'FETCH',
        );
        const byUid = new Map<number, FetchMessageObject>(fetched.map((m) => [m.uid, m]));
        // Handled in UID order; the handled ones are moved together once the batch is done
        // (or stops), and only then the cursor passes them.
        const done: number[] = [];
        let retry = false;
        for (const uid of batch) {
          if (this.stopping) break;
          const m = byUid.get(uid);
          if (!m || !m.source) {
            // Expunged by someone else meanwhile: nothing to do.
            logger.warn({ uid }, 'imap: message vanished before it was fetched');
            done.push(uid);
            continue;
          }
          const arrivedAt = isoSecond(internalDate(m.internalDate) ?? this.clock());
          this.state.fetched += 1;
          const result = await this.deps.handle({ uid, raw: m.source, arrivedAt });
          if (result === 'retry') {
            retry = true;
            break;
          }
          handled += 1;
          done.push(uid);
        }
        const present = done.filter((uid) => byUid.get(uid)?.source);
        if (present.length > 0) await this.markProcessed(client, present);
        const lastDone = done.at(-1);
        if (lastDone !== undefined) this.advance(uidValidity, lastDone);
        if (retry) {
          this.state.retryPending = true;
          logger.warn(
            { uid: batch[done.length] },
            'imap: temporary failure; the message stays and is tried again',
          );
          return handled;
        }
      }
    }
    this.state.retryPending = false;
    this.state.lastPollAt = isoSecond(this.clock());
    return handled;
  }

  private advance(uidValidity: string, uid: number): void {
    this.deps.store.setImapCursor({
      mailbox: this.deps.settings.mailbox,
      uidValidity,
      lastUid: uid,
      updatedAt: isoSecond(this.clock()),
    });
    this.state.lastUid = uid;
  }

  /**
   * MOVE to the processed mailbox (one command for the handled messages of a batch); if the
   * server refuses, flag them instead (the cursor still protects them).
   */
  private async markProcessed(client: ImapFlow, uids: readonly number[]): Promise<void> {
    const target = this.deps.settings.processedMailbox;
    const set = uids.join(',');
    let moved: unknown = false;
    // Moving a message into the watched mailbox itself would give it a new UID, again and again.
    if (!sameMailbox(target, this.deps.settings.mailbox)) {
      try {
        moved = await this.deadline(client.messageMove(set, target, { uid: true }), 'MOVE');
      } catch (err) {
        if (err instanceof Timeout || !client.usable) throw err;
        this.deps.logger.warn({ uids, err: errorText(err) }, 'imap: move refused');
      }
    }
    if (moved) return;
    await this.deadline(client.messageFlagsAdd(set, ['\\Seen', '$VultronProcessed'], { uid: true }), 'STORE');
    this.deps.logger.warn(
      { uids, mailbox: target },
      'imap: could not move the messages; flagged them instead',
    );
  }

  /** Waits until poked (new mail, a closed connection, stop: true) or `ms` passed (false). */
  private sleep(ms: number): Promise<boolean> {
    if (this.stopping || this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve(false);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.pendingWake = false;
        resolve(true);
      };
    });
  }

  /** `promise`, or a Timeout after the command deadline; the connection is then closed. */
  private async deadline<T>(
    promise: Promise<T>,
    what: string,
    ms = this.timing.commandTimeoutMs,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout(`imap: ${what} got no answer within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([promise, timeout]);
    } catch (err) {
      if (err instanceof Timeout) {
        promise.catch(() => undefined);
        this.client?.close();
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Mailbox names compare exactly, except INBOX, which is case-insensitive (RFC 3501 §5.1). */
export function sameMailbox(a: string, b: string): boolean {
  return a === b || (a.toUpperCase() === 'INBOX' && b.toUpperCase() === 'INBOX');
}

function internalDate(value: Date | string | undefined): Date | null {
  if (value === undefined) return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const extra =
      (err as { responseText?: unknown; code?: unknown }).responseText ?? (err as { code?: unknown }).code;
    return `${err.message}${typeof extra === 'string' && !err.message.includes(extra) ? ` (${extra})` : ''}`;
  }
  return String(err);
}
