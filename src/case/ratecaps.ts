/**
 * Rate caps on automatic answers (DESIGN.md §2 "Rate caps", config `security.rateCaps`), so
 * that a loop with another robot dies out. They apply only to acknowledgements and error
 * replies addressed to one sender, counted from the outbox over the last rolling hour:
 * `perSenderPerHour` across all cases (and caseless replies), `perSenderPerCasePerHour` within
 * one case. Notifications are never capped. A capped answer is not written to the outbox at
 * all; the caller logs it.
 *
 * The same hourly budget (`perSenderPerHour`) bounds the quarantine alerts one coordinator
 * gets, so a flood of hostile mail cannot become a flood of alerts; the quarantine list
 * itself (`vultron-mail quarantine`) always has every entry.
 */
import type { MessageCode } from '../protocol/index.js';
import type { Store } from '../store/port.js';

export interface RateCapConfig {
  perSenderPerHour: number;
  perSenderPerCasePerHour: number;
}

/** Acknowledgements and errors: the codes that make a mail an answer to its recipient. */
export const REPLY_CODES: readonly MessageCode[] = ['RK', 'EK', 'CK', 'GK', 'RE', 'EE', 'CE', 'GE'];

/** The Message-ID prefix of quarantine alerts (`<quarantine.<random>@<bot.domain>>`). */
export const ALERT_ID_PREFIX = 'quarantine';

export function isReply(types: readonly MessageCode[]): boolean {
  return types.some((t) => REPLY_CODES.includes(t));
}

function hourBefore(now: string): string {
  return new Date(Date.parse(now) - 3_600_000).toISOString();
}

export type CapVerdict = { ok: true } | { ok: false; detail: string };

/**
 * Whether one more answer to `to` may be created now. Checked inside the transaction that
 * would add it, so the count includes everything committed before.
 */
export function replyAllowed(
  store: Store,
  caps: RateCapConfig | undefined,
  req: { to: string; caseId: string | null; now: string },
): CapVerdict {
  if (!caps) return { ok: true };
  const since = hourBefore(req.now);
  const all = store.countOutbox({ to: req.to, since, anyOfTypes: REPLY_CODES });
  if (all >= caps.perSenderPerHour) {
    return {
      ok: false,
      detail: `${all} answers to ${req.to} in the last hour (security.rateCaps.perSenderPerHour ${caps.perSenderPerHour})`,
    };
  }
  if (req.caseId !== null) {
    const inCase = store.countOutbox({ to: req.to, since, caseId: req.caseId, anyOfTypes: REPLY_CODES });
    if (inCase >= caps.perSenderPerCasePerHour) {
      return {
        ok: false,
        detail: `${inCase} answers to ${req.to} in ${req.caseId} in the last hour (security.rateCaps.perSenderPerCasePerHour ${caps.perSenderPerCasePerHour})`,
      };
    }
  }
  return { ok: true };
}

/** Whether one more quarantine alert may go to this coordinator now. */
export function alertAllowed(
  store: Store,
  caps: RateCapConfig | undefined,
  req: { to: string; now: string },
): CapVerdict {
  if (!caps) return { ok: true };
  const n = store.countOutbox({
    to: req.to,
    since: hourBefore(req.now),
    messageIdPrefix: `<${ALERT_ID_PREFIX}.`,
  });
  return n < caps.perSenderPerHour
    ? { ok: true }
    : {
        ok: false,
        detail: `${n} quarantine alerts to ${req.to} in the last hour (security.rateCaps.perSenderPerHour ${caps.perSenderPerHour})`,
      };
}
