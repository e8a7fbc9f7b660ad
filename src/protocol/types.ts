/** Inputs to decide() and the effects it returns as data (DESIGN.md §1–2). */
import type { Policy } from './policy.js';
import type { CaseSnapshot, LogEntry } from './snapshot.js';
import type { MessageCode, Role } from './vocabulary.js';

/** What a message carries besides its flag set of codes. */
export interface Payload {
  /** EP/EV: the proposed end, RFC 3339 UTC, already resolved by the mail layer. */
  embargoEnd?: string;
  /** EA/ER/EC/EJ: the proposal answered (`E2`), when the mail names or answers one. */
  proposal?: string;
  /** ET: the reason; CP/CX/CA: the URL or note. */
  reason?: string;
  /** CV/CF/CD relayed by a coordinator: the vendor (or deployer) it is about. */
  vendor?: string;
  /** RC and `/leave`: the participant's statement about the embargo. */
  adherence?: 'adhere' | 'no-adhere';
  /** The sender's free text (relayed as its note, or as the GI itself). */
  text?: string;
  /** `/invite <email> <role>` (coordinators). */
  invite?: { email: string; role: Role; name?: string | null; maxEmbargoDays?: number | null };
  /** `/remove <email>` (coordinators). */
  remove?: string;
  /** `/leave [adhere|no-adhere]`. */
  leave?: boolean;
  /** `/status`: the reply is the case status (GK). */
  status?: boolean;
  /** `/help`: the reply is the command list (GI). */
  help?: boolean;
  /** The calendar channel: how an EM code reached us (DESIGN.md §4). */
  calendar?: {
    method: 'REPLY' | 'COUNTER' | 'REFRESH';
    /** The UID answered. */
    uid: string;
  };
}

export type Input =
  /** A mail with no case reference: RS from a new reporter; the snapshot is a fresh case. */
  | {
      kind: 'report';
      from: { email: string; name?: string | null };
      codes: MessageCode[];
      payload: Payload;
      /** Applied but never answered (Precedence: bulk/list/junk). */
      noReply?: boolean;
    }
  /** A mail from a participant of the case (sender already authenticated and authorised). */
  | { kind: 'message'; from: string; codes: MessageCode[]; payload: Payload; noReply?: boolean }
  /** A due timer (see TimerKind). */
  | { kind: 'timer'; timer: TimerRef }
  /** A delivery status notification matched to one of our mails (DESIGN.md §3). */
  | { kind: 'delivery-failure'; to: string; permanent: boolean; types: MessageCode[]; detail: string };

export type TimerKind =
  'embargo-expiry' | 'embargo-reminder' | 'rsvp-deadline' | 'rsvp-reminder' | 'vendor-response';

export interface TimerRef {
  /** Stable per case: setting the same id again moves the timer. */
  id: string;
  kind: TimerKind;
  due: string;
  /** The proposal (expiry, reminders, RSVP) or participant (vendor-response) it is about. */
  ref: string;
}

export interface Context {
  /** The clock, RFC 3339 UTC: decide() reads no other. */
  now: string;
  policy: Policy;
}

/** What one calendar object is: always to one attendee, the bot as organizer (DESIGN.md §4). */
export interface CalendarAction {
  method: 'REQUEST' | 'CANCEL' | 'DECLINECOUNTER';
  proposal: string;
  uid: string;
  sequence: number;
  status: 'TENTATIVE' | 'CONFIRMED' | 'CANCELLED';
  /** DTSTART: the embargo end. */
  end: string;
  attendee: string;
  partstat: 'NEEDS-ACTION' | 'ACCEPTED' | 'DECLINED';
  /** X-VULTRON-PROPOSER */
  proposer: string;
  /** X-VULTRON-MSG: the EM code the object stands for. */
  code: MessageCode;
}

/** Which outgoing template renders a mail (src/outbound, templates/). */
export type MailKind =
  | 'ack' // acknowledgement of an inbound mail (RK/EK/CK/GK + caused codes)
  | 'notification' // another participant's transitions
  | 'error' // an error code + GI, with the reason and the valid commands
  | 'report' // the report forwarded (RS), with its attachments
  | 'invitation' // an embargo event on a mail of its own (REQUEST/CANCEL/DECLINECOUNTER)
  | 'expiry' // the embargo ended at its end instant
  | 'reminder' // embargo end / RSVP reminders
  | 'alert' // to coordinators: undeliverable, no-adhere, declined invitation, unanswered vendor
  | 'status' // `/status` answer (GK)
  | 'help'; // `/help` answer (GI)

/** One transition, as it is told to participants. */
export interface TransitionNote {
  code: MessageCode;
  /** Who caused it: a participant's email, or null for the case itself (the bot). */
  actor: string | null;
  /** Human-readable: "E2 proposed: embargo until 2027-03-01T23:59:59Z". */
  text: string;
}

export interface MailEffect {
  type: 'mail';
  kind: MailKind;
  /** One recipient per mail (one outbox row per recipient). */
  to: string;
  types: MessageCode[];
  /** The mail answers the inbound message (threading: In-Reply-To it). */
  replyToInbound: boolean;
  calendar: CalendarAction | null;
  /** Everything a template may show. */
  data: {
    transitions: TransitionNote[];
    /** The sender's free text that goes with the notification. */
    note?: string;
    /** Error: stable code from the catalogue and its explanation. */
    error?: { code: string; message: string; line?: string };
    /** A relevant date (latest acceptable end, etc.). */
    date?: string;
    /** Free lines for alerts and reminders. */
    lines?: string[];
    /** Kind `report`: the report that opened the case (`all`) or a report just added (`latest`). */
    report?: 'all' | 'latest';
  };
}

export type TimerEffect = { type: 'timer-set'; timer: TimerRef } | { type: 'timer-clear'; id: string };

export type Effect = MailEffect | TimerEffect;

export interface Decision {
  snapshot: CaseSnapshot;
  effects: Effect[];
  /** The log entries added (also appended to snapshot.log). */
  log: LogEntry[];
  /** Whether the input was applied (false: ignored, e.g. a Closed sender). */
  applied: boolean;
}
