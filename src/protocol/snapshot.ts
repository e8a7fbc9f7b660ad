/**
 * The case snapshot: plain JSON that round-trips exactly. Field names are those of the
 * `case show --json` contract (DESIGN.md §5); extra keys are allowed by the contract and
 * documented here.
 */
import type { EMState, MessageCode, PEC, PXA, RMState, Role, VFD } from './vocabulary.js';

export type ProposalStatus = 'pending' | 'accepted' | 'rejected' | 'superseded' | 'cancelled' | 'expired';

export interface Proposal {
  /** Short id used in commands (`/embargo accept E2`): `E<n>`. */
  id: string;
  /** n of the UID: counts every proposal and revision of the case from 1, never reused. */
  n: number;
  /** Proposed embargo end, RFC 3339 UTC. */
  end: string;
  /** Email of the participant who proposed it. */
  proposer: string;
  kind: 'proposal' | 'revision';
  status: ProposalStatus;
  /** `<case-id>-embargo-<n>@<bot.domain>` */
  uid: string;
  /** iTIP SEQUENCE of the event: 0, +1 on every CANCEL. */
  sequence: number;
  acceptedBy: string[];
  declinedBy: string[];
  proposedAt: string;
  /** Pending proposals expire at this instant (DESIGN.md §2 "RSVP deadline"). */
  rsvpDeadline: string;
  /** When the proposal came from an iTIP COUNTER: the id of the proposal it countered. */
  counterTo: string | null;
  /** When it stopped being pending (accepted, rejected, ...). */
  decidedAt: string | null;
}

export interface Participant {
  email: string;
  name: string | null;
  roles: Role[];
  rm: RMState;
  /** Vendors only; null for others (a deployer's d/D is `deployed`). */
  vfd: VFD | null;
  deployed: boolean;
  engaged: boolean;
  embargoAdherence: boolean;
  consent: PEC;
  /** Extra: the report has been queued to this participant (RS sent). */
  reportSent: boolean;
  /** Extra: a permanent bounce marked the address undeliverable. */
  undeliverable: boolean;
  /** Extra: the contact's own longest acceptable embargo, in days. */
  maxEmbargoDays: number | null;
  /** Extra: when the participant was added. */
  joinedAt: string;
}

export interface LogEntry {
  at: string;
  /** `inbound` exactly once per applied inbound mail, with its flag set; other kinds are free. */
  kind: string;
  from: string | null;
  types: MessageCode[];
  detail: string;
}

export interface CaseSnapshot {
  id: string;
  title: string;
  em: EMState;
  pxa: PXA;
  embargo: {
    /** In force (ACTIVE/REVISE); the last one in EXITED; null in NONE/PROPOSED. */
    end: string | null;
    /** Extra: the proposal whose terms are (or, in EXITED, were last) in force. */
    active: string | null;
    proposals: Proposal[];
  };
  participants: Participant[];
  log: LogEntry[];
  /** Extra: when the case was opened. */
  createdAt: string;
  /** Extra: the bot's domain, for embargo UIDs. */
  domain: string;
}

export interface NewCaseParams {
  id: string;
  title: string;
  now: string;
  /** `bot.domain`, used in embargo UIDs. */
  domain: string;
  /** Every configured coordinator joins every new case (DESIGN.md §2). */
  coordinators: ReadonlyArray<{ email: string; name?: string | null }>;
}

/** Normalised form of an address for comparisons (DESIGN.md §3: case-insensitive, exact). */
export function normEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function newParticipant(
  email: string,
  roles: Role[],
  now: string,
  opts: { name?: string | null; rm?: RMState; maxEmbargoDays?: number | null } = {},
): Participant {
  return {
    email: normEmail(email),
    name: opts.name ?? null,
    roles: [...roles],
    rm: opts.rm ?? 'START',
    vfd: roles.includes('vendor') ? 'vfd' : null,
    deployed: false,
    engaged: true,
    embargoAdherence: true,
    consent: 'NO_EMBARGO',
    reportSent: false,
    undeliverable: false,
    maxEmbargoDays: opts.maxEmbargoDays ?? null,
    joinedAt: now,
  };
}

/** A fresh case: EM NONE, pxa, the coordinators as engaged participants, nothing else. */
export function newCase(p: NewCaseParams): CaseSnapshot {
  const seen = new Set<string>();
  const participants: Participant[] = [];
  for (const c of p.coordinators) {
    const email = normEmail(c.email);
    if (seen.has(email)) continue;
    seen.add(email);
    participants.push(newParticipant(email, ['coordinator'], p.now, { name: c.name ?? null }));
  }
  return {
    id: p.id,
    title: p.title,
    em: 'NONE',
    pxa: 'pxa',
    embargo: { end: null, active: null, proposals: [] },
    participants,
    log: [],
    createdAt: p.now,
    domain: p.domain,
  };
}

/**
 * Deep copy through JSON: the snapshot is plain data, so this is exact. The log is append-only
 * (entries are never changed once written), so its entries are shared, not copied: the cost of
 * a copy does not grow with the case's history.
 */
export function cloneSnapshot(s: CaseSnapshot): CaseSnapshot {
  const copy = JSON.parse(JSON.stringify({ ...s, log: [] })) as CaseSnapshot;
  copy.log = s.log.slice();
  return copy;
}

export function findParticipant(s: CaseSnapshot, email: string): Participant | undefined {
  const e = normEmail(email);
  return s.participants.find((p) => p.email === e);
}

export function embargoUid(caseId: string, n: number, domain: string): string {
  return `${caseId}-embargo-${n}@${domain}`;
}
