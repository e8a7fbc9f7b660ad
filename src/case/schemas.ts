/**
 * zod schemas of the two data formats the CLI exposes (`vultron-mail schema`): the case
 * snapshot (`case show --json`, src/protocol/snapshot.ts) and the message format decide()
 * takes (`Input`, src/protocol/types.ts). They mirror those TypeScript types exactly, with the
 * closed vocabularies of src/protocol/vocabulary.ts as enums and every object strict.
 *
 * Drift is caught twice: the type assertions at the end of this file fail `tsc` when a field is
 * added, removed or retyped on either side, and test/cli/schema.test.ts validates snapshots
 * produced by decide() against CaseSnapshotSchema.
 */
import * as z from 'zod';
import {
  EM_STATES,
  MESSAGE_CODES,
  PEC_STATES,
  PXA_STATES,
  RM_STATES,
  ROLES,
  VFD_STATES,
} from '../protocol/vocabulary.js';
import type { CaseSnapshot } from '../protocol/snapshot.js';
import type { Input } from '../protocol/types.js';

/** An RFC 3339 instant (the core writes UTC, `Z`; an offset is accepted). */
const instant = z.iso.datetime({ offset: true });
const address = z.string().min(1).describe('an email address, lower-cased');

export const MessageCodeSchema = z.enum(MESSAGE_CODES).describe('a Vultron message type (PROTOCOL.md §4.2)');
export const RMStateSchema = z.enum(RM_STATES).describe('report management state (PROTOCOL.md §1.1)');
export const EMStateSchema = z.enum(EM_STATES).describe('embargo management state (PROTOCOL.md §2.2)');
export const VFDSchema = z.enum(VFD_STATES).describe('vendor part of the case state (PROTOCOL.md §3.1)');
export const PXASchema = z.enum(PXA_STATES).describe('global part of the case state (PROTOCOL.md §3.1)');
export const RoleSchema = z.enum(ROLES).describe('case role (PROTOCOL.md §7.1)');
export const PECSchema = z.enum(PEC_STATES).describe('participant embargo consent (PROTOCOL.md §2.9)');

export const ProposalSchema = z.strictObject({
  id: z
    .string()
    .regex(/^E\d+$/)
    .describe('short id used in commands: E<n>'),
  n: z.int().positive(),
  end: instant.describe('proposed embargo end'),
  proposer: address,
  kind: z.enum(['proposal', 'revision']),
  status: z.enum(['pending', 'accepted', 'rejected', 'superseded', 'cancelled', 'expired']),
  uid: z.string().describe('<case-id>-embargo-<n>@<bot.domain>'),
  sequence: z.int().nonnegative(),
  acceptedBy: z.array(address),
  declinedBy: z.array(address),
  proposedAt: instant,
  rsvpDeadline: instant,
  counterTo: z.string().nullable(),
  decidedAt: instant.nullable(),
});

export const ParticipantSchema = z.strictObject({
  email: address,
  name: z.string().nullable(),
  roles: z.array(RoleSchema),
  rm: RMStateSchema,
  vfd: VFDSchema.nullable(),
  deployed: z.boolean(),
  engaged: z.boolean(),
  embargoAdherence: z.boolean(),
  consent: PECSchema,
  reportSent: z.boolean(),
  undeliverable: z.boolean(),
  maxEmbargoDays: z.number().nullable(),
  joinedAt: instant,
});

export const LogEntrySchema = z.strictObject({
  at: instant,
  kind: z.string().describe('"inbound" exactly once per applied inbound mail; other kinds are free'),
  from: z.string().nullable(),
  types: z.array(MessageCodeSchema),
  detail: z.string(),
});

export const CaseSnapshotSchema = z
  .strictObject({
    id: z.string().describe('<prefix>-<year>-<counter>, e.g. VM-2026-0001'),
    title: z.string(),
    em: EMStateSchema,
    pxa: PXASchema,
    embargo: z.strictObject({
      end: instant.nullable().describe('in force (ACTIVE/REVISE); the last one in EXITED; null otherwise'),
      active: z.string().nullable(),
      proposals: z.array(ProposalSchema),
    }),
    participants: z.array(ParticipantSchema),
    log: z.array(LogEntrySchema),
    createdAt: instant,
    domain: z.string(),
  })
  .describe('A vultron-mail case snapshot (`vultron-mail case show --json`)');

export const PayloadSchema = z.strictObject({
  embargoEnd: instant.optional(),
  proposal: z.string().optional(),
  reason: z.string().optional(),
  vendor: z.string().optional(),
  adherence: z.enum(['adhere', 'no-adhere']).optional(),
  text: z.string().optional(),
  invite: z
    .strictObject({
      email: address,
      role: RoleSchema,
      name: z.string().nullable().optional(),
      maxEmbargoDays: z.number().nullable().optional(),
    })
    .optional(),
  remove: z.string().optional(),
  leave: z.boolean().optional(),
  status: z.boolean().optional(),
  help: z.boolean().optional(),
  calendar: z
    .strictObject({
      method: z.enum(['REPLY', 'COUNTER', 'REFRESH']),
      uid: z.string(),
    })
    .optional(),
});

export const TimerKindSchema = z.enum([
  'embargo-expiry',
  'embargo-reminder',
  'rsvp-deadline',
  'rsvp-reminder',
  'vendor-response',
]);

export const TimerRefSchema = z.strictObject({
  id: z.string(),
  kind: TimerKindSchema,
  due: instant,
  ref: z.string(),
});

export const InputSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('report'),
      from: z.strictObject({ email: address, name: z.string().nullable().optional() }),
      codes: z.array(MessageCodeSchema),
      payload: PayloadSchema,
      noReply: z.boolean().optional(),
    }),
    z.strictObject({
      kind: z.literal('message'),
      from: address,
      codes: z.array(MessageCodeSchema),
      payload: PayloadSchema,
      noReply: z.boolean().optional(),
    }),
    z.strictObject({ kind: z.literal('timer'), timer: TimerRefSchema }),
    z.strictObject({
      kind: z.literal('delivery-failure'),
      to: address,
      permanent: z.boolean(),
      types: z.array(MessageCodeSchema),
      detail: z.string(),
    }),
  ])
  .describe('A protocol input to decide(): a new report, a message, a due timer or a delivery failure');

/** The JSON Schemas printed by `vultron-mail schema`. */
export function jsonSchemas(): { case: Record<string, unknown>; message: Record<string, unknown> } {
  return {
    case: z.toJSONSchema(CaseSnapshotSchema) as Record<string, unknown>,
    message: z.toJSONSchema(InputSchema) as Record<string, unknown>,
  };
}

// ---------------------------------------------------------------------------------------
// Compile-time drift checks: each schema's type equals the TypeScript type it mirrors.

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}
assertType<Equals<z.output<typeof CaseSnapshotSchema>, CaseSnapshot>>();
assertType<Equals<z.output<typeof InputSchema>, Input>>();
