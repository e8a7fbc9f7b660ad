/**
 * The outbox sender: delivers the due rows, one at a time, and records each outcome. A committed
 * notification is never lost (DESIGN.md §6): a failed attempt is retried with exponential
 * backoff (1 min, 2, 4, … capped at 6 h) until the next attempt would fall past
 * `createdAt + giveUpHours`; a permanent failure gives up at once. The rows given up on are
 * returned, because the caller must tell the coordinators (never silently, ANCHORS.md C.2 #8).
 *
 * Time is an argument: `now` is the clock of the whole run.
 */
import type { OutboxRow, Store } from '../store/port.js';
import type { Transport } from './transports.js';
import { TransportError } from './transports.js';

export const FIRST_RETRY_MS = 60_000;
export const MAX_RETRY_MS = 6 * 3_600_000;
export const DEFAULT_GIVE_UP_HOURS = 72;
/** Longest error text kept on a row. */
const MAX_ERROR_CHARS = 1000;

/** Delay before the next attempt after `failures` failed attempts (1 → 1 min, 2 → 2 min, …, ≤ 6 h). */
export function backoffMs(failures: number): number {
  const n = Math.max(1, Math.floor(failures));
  return Math.min(FIRST_RETRY_MS * 2 ** (n - 1), MAX_RETRY_MS);
}

/** RFC 3339 UTC, to the second when there are no milliseconds (as the rest of the case data). */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/**
 * When to try a row again after a failed attempt, or null to give up: on a permanent failure,
 * or when that time would fall past `createdAt + giveUpHours`.
 */
export function nextAttemptAt(
  row: Pick<OutboxRow, 'attempts' | 'createdAt'>,
  now: string,
  opts: { temporary: boolean; giveUpHours?: number },
): string | null {
  if (!opts.temporary) return null;
  const retry = Date.parse(now) + backoffMs(row.attempts + 1);
  const deadline = Date.parse(row.createdAt) + (opts.giveUpHours ?? DEFAULT_GIVE_UP_HOURS) * 3_600_000;
  return retry > deadline ? null : iso(retry);
}

export interface SendResult {
  /** Rows delivered. */
  sent: number;
  /** Failed attempts, whether retried later or given up. */
  failed: number;
  /** The rows given up on (status failed), for the caller to tell the coordinators. */
  gaveUp: OutboxRow[];
}

export async function sendDue(
  store: Pick<Store, 'dueOutbox' | 'getOutbox' | 'markSent' | 'markAttemptFailed'>,
  transport: Transport,
  opts: { now: string; giveUpHours?: number },
): Promise<SendResult> {
  const result: SendResult = { sent: 0, failed: 0, gaveUp: [] };
  // One row's bytes in memory at a time (a forwarded report can be tens of MB per recipient).
  for (const id of store.dueOutbox(opts.now)) {
    const row = store.getOutbox(id);
    if (!row || row.status !== 'pending') continue;
    let failure: unknown = null;
    try {
      await transport.send(row);
    } catch (err) {
      failure = err;
    }
    // Store errors are not caught: the row stays due and goes out again with the same Message-ID.
    if (failure === null) {
      store.markSent(row.id, opts.now);
      result.sent += 1;
      continue;
    }
    const temporary = failure instanceof TransportError ? failure.temporary : true;
    const error = errorText(failure);
    const retryAt = nextAttemptAt(row, opts.now, { temporary, giveUpHours: opts.giveUpHours });
    store.markAttemptFailed(row.id, error, retryAt);
    result.failed += 1;
    if (retryAt === null) {
      result.gaveUp.push({ ...row, status: 'failed', attempts: row.attempts + 1, lastError: error });
    }
  }
  return result;
}

function errorText(err: unknown): string {
  const text =
    err instanceof TransportError
      ? `${err.code}: ${err.message}`
      : err instanceof Error
        ? `${err.name}: ${err.message}`
        : String(err);
  return text.slice(0, MAX_ERROR_CHARS);
}
