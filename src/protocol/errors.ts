/**
 * The catalogue of protocol-level refusals: each has a stable code (shown to people in
 * error replies and kept in the log) and the protocol message it answers with.
 */
import type { MessageCode } from './vocabulary.js';

export const PROTOCOL_ERRORS = {
  'report-unknown': { reply: 'RE', text: 'You have not received the report of this case yet.' },
  'rm-backward': { reply: 'RE', text: 'That report state cannot follow the one on record.' },
  'close-needs-adherence': {
    reply: 'RE',
    text: 'An embargo is in force: say whether you will keep to it with "/close adhere" or "/close no-adhere", or defer instead with "/defer".',
  },
  'report-needs-report': { reply: 'RE', text: 'Only a participant who has the report can add a report.' },
  'embargo-no-end': { reply: 'EE', text: 'An embargo proposal needs an end date.' },
  'embargo-use-revision': {
    reply: 'EE',
    text: 'An embargo is already in force: propose new terms as a revision (the same "/embargo <end>" command is read as one).',
  },
  'embargo-nothing-to-revise': { reply: 'EE', text: 'There is no embargo in force to revise.' },
  'embargo-no-proposal': { reply: 'EE', text: 'There is no embargo proposal to answer.' },
  'embargo-ambiguous': {
    reply: 'EE',
    text: 'Several embargo proposals are pending: name one, e.g. "/embargo accept E2".',
  },
  'embargo-unknown-proposal': { reply: 'EE', text: 'No embargo proposal of this case has that id.' },
  'embargo-cannot-decline-active': {
    reply: 'EE',
    text: 'You have accepted the embargo in force: to stop taking part use "/leave", to end it for everyone "/embargo terminate <reason>".',
  },
  'embargo-nothing-to-terminate': { reply: 'EE', text: 'There is no embargo in force to terminate.' },
  'embargo-terminate-not-allowed': {
    reply: 'EE',
    text: 'Only a coordinator, the reporter or a vendor may terminate the embargo.',
  },
  'embargo-invite-too-long': {
    reply: 'EE',
    text: "The embargo in force is longer than this contact's longest acceptable embargo.",
  },
  'embargo-delegated': {
    reply: 'EE',
    text: 'Delegating an embargo invitation has no meaning here: ask a coordinator to invite the right address.',
  },
  'cs-not-vendor': {
    reply: 'CE',
    text: 'Only a vendor can report its own fix; a coordinator may relay it by naming the vendor.',
  },
  'cs-not-deployer': {
    reply: 'CE',
    text: 'Only a deployer or a vendor can report a deployment; a coordinator may relay it by naming the participant.',
  },
  'cs-relay-not-allowed': { reply: 'CE', text: 'Only coordinators relay an event for a named participant.' },
  'cs-unknown-vendor': {
    reply: 'CE',
    text: 'The named participant is not a vendor or deployer of this case.',
  },
  'general-not-coordinator': { reply: 'GE', text: 'Only coordinators may change who is in the case.' },
  'general-already-participant': { reply: 'GE', text: 'That address is already a participant of this case.' },
  'general-unknown-participant': { reply: 'GE', text: 'That address is not a participant of this case.' },
} as const satisfies Record<string, { reply: MessageCode; text: string }>;

export type ProtocolErrorCode = keyof typeof PROTOCOL_ERRORS;

/** Rejections of an embargo proposal by the bot (answered with ER, not an error code). */
export const PROPOSAL_REJECTIONS = {
  'embargo-not-viable':
    'The vulnerability is public, an exploit is public or attacks were seen: no new embargo can start.',
  'embargo-exited': 'The embargo of this case has ended; a new embargo needs a new case.',
  'embargo-in-past': 'The proposed end is in the past or too soon.',
  'embargo-too-long': 'The proposed end is later than the policy allows.',
  'embargo-bad-date': 'The proposed end is not a date.',
} as const;

export type ProposalRejectionCode = keyof typeof PROPOSAL_REJECTIONS;
