/**
 * The policy values decide() needs: the decisions of DESIGN.md §2 that an admin may tune.
 * Config (src/case) maps `policy.*` keys onto this type; defaults are DESIGN.md's.
 */

/** Who must accept a proposal (DESIGN.md §2 "quorum for P→A"). */
export type QuorumPolicy = 'all-engaged' | 'vendors-and-reporter' | 'any';

export interface Policy {
  quorum: QuorumPolicy;
  embargo: {
    /** Used only for a bare `/embargo` and `case propose` without `--end`. */
    defaultDays: number;
    /** The earliest acceptable end is now + minHours. */
    minHours: number;
    /** The latest acceptable end is now + maxDays (and each member's own maxEmbargoDays). */
    maxDays: number;
  };
  /** RSVP window of a proposal: days, clamped to at least 72 hours, never past its end. */
  rsvpDays: number;
  /** CA also sets P (PROTOCOL.md Appendix A4). */
  attacksImplyPublic: boolean;
  /** CA terminates the embargo (PROTOCOL.md §2.7 SHOULD). */
  terminateOnAttacks: boolean;
  /** A vendor's CF rejects pending proposals (PROTOCOL.md Appendix A5). */
  rejectPendingOnFixReady: boolean;
  /** Reminders of the active embargo's end, days before it. */
  reminderDays: number[];
  /** RSVP reminder to non-responders, hours before the RSVP deadline. */
  rsvpReminderHours: number;
  /** Coordinators are reminded when an invited vendor has said nothing for this many days. */
  vendorResponseDays: number;
}

export const DEFAULT_POLICY: Policy = {
  quorum: 'vendors-and-reporter',
  embargo: { defaultDays: 45, minHours: 24, maxDays: 90 },
  rsvpDays: 7,
  attacksImplyPublic: false,
  terminateOnAttacks: true,
  rejectPendingOnFixReady: true,
  reminderDays: [7, 1],
  rsvpReminderHours: 48,
  vendorResponseDays: 7,
};

/** The minimum RSVP window (PROTOCOL.md §2.9: 72 hours). */
export const MIN_RSVP_HOURS = 72;
