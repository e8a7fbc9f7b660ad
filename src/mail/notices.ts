/**
 * The short mails a quarantine entry causes (DESIGN.md §3: "the coordinators are told, and the
 * sender gets at most a reply that reveals nothing about the case"):
 *
 * - to the sender, only for the reasons where it helps them (the mail is too large or over a
 *   structure cap, it could not be decrypted, or it was not accepted from them), only when an
 *   automatic answer is safe (a From, not machine or list mail, authenticated when required),
 *   to the From address (never Reply-To), with a fixed text that names no case;
 * - to each coordinator, one alert per entry, except for our own mail coming back (`loop`) and
 *   bounces of nothing we sent (`bounce-unmatched`): alerting on those could itself loop.
 *
 * Both are rate-capped (src/case/ratecaps.ts) where they are written.
 */
import type { MessageCode } from '../protocol/index.js';
import type { NewOutboxRow } from '../store/port.js';

export interface Notice {
  /** `sender`: answers the held mail; `alert`: to a coordinator. */
  kind: 'sender' | 'alert';
  to: string;
  subject: string;
  lines: string[];
  types: MessageCode[];
  /** The held mail's Message-ID, for threading the sender's notice. */
  inReplyTo: string | null;
  now: string;
}

/** Renders a notice into an outbox row (Message-ID, headers: src/outbound/compose.ts). */
export type NoticeComposer = (notice: Notice) => Promise<NewOutboxRow>;

const FOLLOW_UP =
  'It has been kept, and the coordinators have been told; one of them will follow up if needed.';

/** The sender's notice for a quarantine reason, or null when the sender is not told. */
export function senderLines(reason: string, detail: string): string[] | null {
  switch (reason) {
    case 'too-large':
      return [
        'Your mail was not processed: it is larger than this address accepts.',
        `(${detail})`,
        '',
        FOLLOW_UP,
      ];
    case 'malformed':
      return [
        'Your mail was not processed: its structure is beyond what this address accepts.',
        `(${detail})`,
        '',
        FOLLOW_UP,
      ];
    case 'undecryptable':
      return [
        'Your encrypted mail was received, but it cannot be decrypted here.',
        '',
        'It has been kept as it arrived, and the coordinators have been told;',
        'a coordinator will follow up with you.',
      ];
    case 'not-a-participant':
      return ['Your mail was received, but it was not processed automatically.', '', FOLLOW_UP];
    default:
      return null;
  }
}

/** Reasons whose entries are not alerted (see the file comment). */
const SILENT: ReadonlySet<string> = new Set(['loop', 'bounce-unmatched']);

export function alertWanted(reason: string): boolean {
  return !SILENT.has(reason);
}

export function alertLines(e: {
  reason: string;
  detail: string;
  from: string | null;
  messageId: string;
  subject: string | null;
  at: string;
  held: number;
  senderTold: string;
}): string[] {
  return [
    'A mail was held in quarantine and nothing was applied.',
    '',
    `Reason:     ${e.reason}`,
    `Detail:     ${e.detail}`,
    `From:       ${e.from ?? '(none)'}`,
    `Subject:    ${e.subject === null ? '(unknown)' : e.subject.slice(0, 160)}`,
    `Message-ID: ${e.messageId}`,
    `At:         ${e.at}`,
    `Sender:     ${e.senderTold}`,
    '',
    `Entries held now: ${e.held}. List them with: vultron-mail quarantine`,
    'Re-process one after fixing the cause: vultron-mail quarantine release <id>',
    'Discard one: vultron-mail quarantine drop <id>',
  ];
}
