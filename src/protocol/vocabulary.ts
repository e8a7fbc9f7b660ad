/**
 * The closed vocabulary of the Vultron protocol. Every value here cites the PROTOCOL.md
 * section it comes from; anything else is rejected at the boundary (see `isX` guards).
 */

/** The 28 message types (PROTOCOL.md §4.2, code string values §4.3). */
export const MESSAGE_CODES = [
  // RM family (§4.2, §5.2–5.3)
  'RS',
  'RI',
  'RV',
  'RD',
  'RA',
  'RC',
  'RK',
  'RE',
  // EM family (§4.2, §5.4–5.5)
  'EP',
  'ER',
  'EA',
  'EV',
  'EJ',
  'EC',
  'ET',
  'EK',
  'EE',
  // CS family (§4.2, §5.6–5.7)
  'CV',
  'CF',
  'CD',
  'CP',
  'CX',
  'CA',
  'CK',
  'CE',
  // General (§4.2, §5.8)
  'GI',
  'GK',
  'GE',
] as const;
export type MessageCode = (typeof MESSAGE_CODES)[number];

export type MessageFamily = 'RM' | 'EM' | 'CS' | 'GENERAL';

/** Family of a code: the first letter (R, E, C, G), PROTOCOL.md §4.1. */
export function familyOf(code: MessageCode): MessageFamily {
  switch (code[0]) {
    case 'R':
      return 'RM';
    case 'E':
      return 'EM';
    case 'C':
      return 'CS';
    default:
      return 'GENERAL';
  }
}

/** Order in which the codes of one flag set are applied: RM → EM → CS → general (PROTOCOL.md §8). */
export const FAMILY_ORDER: readonly MessageFamily[] = ['RM', 'EM', 'CS', 'GENERAL'];

/** Acknowledgements, never acknowledged themselves (PROTOCOL.md §4.1, §5.1 "Ack rule"). */
export const ACK_CODES = ['RK', 'EK', 'CK', 'GK'] as const satisfies readonly MessageCode[];
/** Errors of each family (PROTOCOL.md §4.1, §5.9). */
export const ERROR_CODES = ['RE', 'EE', 'CE', 'GE'] as const satisfies readonly MessageCode[];
export type AckCode = (typeof ACK_CODES)[number];
export type ErrorCode = (typeof ERROR_CODES)[number];

export const ACK_OF: Readonly<Record<MessageFamily, AckCode>> = {
  RM: 'RK',
  EM: 'EK',
  CS: 'CK',
  GENERAL: 'GK',
};
export const ERROR_OF: Readonly<Record<MessageFamily, ErrorCode>> = {
  RM: 'RE',
  EM: 'EE',
  CS: 'CE',
  GENERAL: 'GE',
};

/** Long names of the codes (PROTOCOL.md §4.2 "Name" column). */
export const MESSAGE_NAMES: Readonly<Record<MessageCode, string>> = {
  RS: 'Report Submission',
  RI: 'Report Invalid',
  RV: 'Report Valid',
  RD: 'Report Deferred',
  RA: 'Report Accepted',
  RC: 'Report Closed',
  RK: 'Report Acknowledgement',
  RE: 'Report Error',
  EP: 'Embargo Proposal',
  ER: 'Embargo Proposal Rejection',
  EA: 'Embargo Proposal Acceptance',
  EV: 'Embargo Revision Proposal',
  EJ: 'Embargo Revision Rejection',
  EC: 'Embargo Revision Acceptance',
  ET: 'Embargo Termination',
  EK: 'Embargo Acknowledgement',
  EE: 'Embargo Error',
  CV: 'Vendor Awareness',
  CF: 'Fix Readiness',
  CD: 'Fix Deployed',
  CP: 'Public Awareness',
  CX: 'Exploit Public',
  CA: 'Attacks Observed',
  CK: 'CS Acknowledgement',
  CE: 'CS Error',
  GI: 'General Inquiry',
  GK: 'General Acknowledgement',
  GE: 'General Error',
};

/** RM states (PROTOCOL.md §1.1, code values §1.6). */
export const RM_STATES = ['START', 'RECEIVED', 'INVALID', 'VALID', 'DEFERRED', 'ACCEPTED', 'CLOSED'] as const;
export type RMState = (typeof RM_STATES)[number];
export const RM_LETTER: Readonly<Record<RMState, string>> = {
  START: 'S',
  RECEIVED: 'R',
  INVALID: 'I',
  VALID: 'V',
  DEFERRED: 'D',
  ACCEPTED: 'A',
  CLOSED: 'C',
};

/** EM states (PROTOCOL.md §2.2, code names §2.9, Appendix A2). */
export const EM_STATES = ['NONE', 'PROPOSED', 'ACTIVE', 'REVISE', 'EXITED'] as const;
export type EMState = (typeof EM_STATES)[number];
export const EM_LETTER: Readonly<Record<EMState, string>> = {
  NONE: 'N',
  PROPOSED: 'P',
  ACTIVE: 'A',
  REVISE: 'R',
  EXITED: 'X',
};
/** The embargo is in force exactly in these states (PROTOCOL.md §2.2). */
export const EM_IN_FORCE: readonly EMState[] = ['ACTIVE', 'REVISE'];

/** Per-vendor part of the case state (PROTOCOL.md §3.1, §3.9). */
export const VFD_STATES = ['vfd', 'Vfd', 'VFd', 'VFD'] as const;
export type VFD = (typeof VFD_STATES)[number];

/** Global part of the case state (PROTOCOL.md §3.1, §7.1 PXAStateEnum). */
export const PXA_STATES = ['pxa', 'pxA', 'pXa', 'pXA', 'Pxa', 'PxA', 'PXa', 'PXA'] as const;
export type PXA = (typeof PXA_STATES)[number];

/** Case roles (PROTOCOL.md §7.1 CaseRoleFlags; DESIGN.md §2 "Who is in a case"). */
export const ROLES = ['finder', 'reporter', 'vendor', 'deployer', 'coordinator', 'other'] as const;
export type Role = (typeof ROLES)[number];

/** Participant Embargo Consent (PROTOCOL.md §2.9). */
export const PEC_STATES = ['NO_EMBARGO', 'INVITED', 'SIGNATORY', 'LAPSED', 'DECLINED'] as const;
export type PEC = (typeof PEC_STATES)[number];

function member<T extends string>(values: readonly T[]) {
  return (value: unknown): value is T =>
    typeof value === 'string' && (values as readonly string[]).includes(value);
}
export const isMessageCode = member(MESSAGE_CODES);
export const isRMState = member(RM_STATES);
export const isEMState = member(EM_STATES);
export const isVFD = member(VFD_STATES);
export const isPXA = member(PXA_STATES);
export const isRole = member(ROLES);
export const isPEC = member(PEC_STATES);

export function isAck(code: MessageCode): code is AckCode {
  return (ACK_CODES as readonly MessageCode[]).includes(code);
}
export function isError(code: MessageCode): code is ErrorCode {
  return (ERROR_CODES as readonly MessageCode[]).includes(code);
}

/** Removes repeated codes, keeping the first occurrence (a mail's `types` keep the order of events). */
export function uniqueCodes(codes: Iterable<MessageCode>): MessageCode[] {
  return [...new Set(codes)];
}
