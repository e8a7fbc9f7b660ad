/**
 * The one schema of the configuration file (DESIGN.md §5 "Config"). Every object is strict
 * (an unknown key is an error) except the nodemailer options under `smtp`, whose known keys are
 * typed and whose other keys are passed to nodemailer as they are. Defaults are DESIGN.md's;
 * every key is documented in docs/configuration.md.
 */
import * as z from 'zod';
import { DEFAULT_POLICY } from '../protocol/policy.js';

const email = z.email({
  error: (issue) => (issue.code === 'invalid_format' ? 'not a valid email address' : undefined),
});
const nonEmpty = z.string().min(1, { error: 'must not be empty' });
const port = z.int().min(1).max(65535);
const positiveInt = z.int().positive();
const hostname = z
  .string()
  .regex(
    /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    {
      error: 'not a valid domain name',
    },
  );
/** Options passed through to a TLS library (node:tls), not checked here. */
const tlsOptions = z.record(z.string(), z.unknown());

export const DEFAULT_LIMITS = {
  /** Larger mail is quarantined `too-large` (DESIGN.md §2 "Size"). */
  maxMessageBytes: 52_428_800,
  maxMimeDepth: 20,
  maxHeaderBytes: 262_144,
  maxParts: 500,
  maxAttachmentBytes: 52_428_800,
  maxTextChars: 1_000_000,
  maxIcsLines: 20_000,
  maxIcsComponents: 200,
  maxRecipients: 100,
} as const;

export const DEFAULT_RATE_CAPS = {
  /** Acknowledgements and errors addressed to one sender, per rolling hour, all cases. */
  perSenderPerHour: 30,
  /** The same, per sender and case. */
  perSenderPerCasePerHour: 10,
} as const;

const BotSchema = z
  .strictObject({
    address: email,
    name: nonEmpty.default('Vultron Mail'),
    /** Used in embargo UIDs and Message-IDs; default: the domain of `address`. */
    domain: hostname.optional(),
    caseIdPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{0,15}$/, { error: 'must be a letter then up to 15 letters or digits' })
      .default('VM'),
  })
  .transform((b) => ({ ...b, domain: b.domain ?? b.address.slice(b.address.lastIndexOf('@') + 1) }));

const SmtpSchema = z.looseObject({
  host: nonEmpty.optional(),
  port: port.optional(),
  secure: z.boolean().optional(),
  requireTLS: z.boolean().optional(),
  ignoreTLS: z.boolean().optional(),
  /** The name the client gives in EHLO. */
  name: nonEmpty.optional(),
  auth: z.looseObject({ user: nonEmpty, pass: z.string().optional() }).optional(),
  tls: tlsOptions.optional(),
});

const ImapSchema = z.strictObject({
  host: nonEmpty,
  port: port.default(993),
  secure: z.boolean().default(true),
  auth: z.strictObject({ user: nonEmpty, pass: nonEmpty }),
  tls: tlsOptions.optional(),
  mailbox: nonEmpty.default('INBOX'),
  processedMailbox: nonEmpty.default('Processed'),
});

const ContactSchema = z.strictObject({
  email,
  name: nonEmpty.optional(),
  maxEmbargoDays: positiveInt.optional(),
  pgpKey: nonEmpty.optional(),
});

const EmbargoSchema = z
  .strictObject({
    defaultDays: positiveInt.default(DEFAULT_POLICY.embargo.defaultDays),
    minHours: z.int().nonnegative().default(DEFAULT_POLICY.embargo.minHours),
    maxDays: positiveInt.default(DEFAULT_POLICY.embargo.maxDays),
  })
  .superRefine((e, ctx) => {
    if (e.defaultDays > e.maxDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultDays'],
        message: `must not exceed maxDays (${e.maxDays})`,
      });
    }
    if (e.defaultDays * 24 < e.minHours) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultDays'],
        message: `must be at least minHours (${e.minHours} hours)`,
      });
    }
    if (e.minHours > e.maxDays * 24) {
      ctx.addIssue({
        code: 'custom',
        path: ['minHours'],
        message: `must not exceed maxDays (${e.maxDays} days)`,
      });
    }
  });

const PolicySchema = z.strictObject({
  quorum: z.enum(['all-engaged', 'vendors-and-reporter', 'any']).default(DEFAULT_POLICY.quorum),
  embargo: EmbargoSchema.prefault({}),
  rsvpDays: positiveInt.default(DEFAULT_POLICY.rsvpDays),
  attacksImplyPublic: z.boolean().default(DEFAULT_POLICY.attacksImplyPublic),
  terminateOnAttacks: z.boolean().default(DEFAULT_POLICY.terminateOnAttacks),
  rejectPendingOnFixReady: z.boolean().default(DEFAULT_POLICY.rejectPendingOnFixReady),
  reminderDays: z.array(positiveInt).default([...DEFAULT_POLICY.reminderDays]),
  rsvpReminderHours: positiveInt.default(DEFAULT_POLICY.rsvpReminderHours),
  vendorResponseDays: positiveInt.default(DEFAULT_POLICY.vendorResponseDays),
});

const SecuritySchema = z
  .strictObject({
    /** The authserv-id of our own MTA in Authentication-Results (RFC 8601). */
    trustedAuthservId: nonEmpty.optional(),
    /** Default: true when trustedAuthservId is set, else false. */
    requireAuthenticatedSender: z.boolean().optional(),
    rateCaps: z
      .strictObject({
        perSenderPerHour: positiveInt.default(DEFAULT_RATE_CAPS.perSenderPerHour),
        perSenderPerCasePerHour: positiveInt.default(DEFAULT_RATE_CAPS.perSenderPerCasePerHour),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    if (s.requireAuthenticatedSender === true && s.trustedAuthservId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['trustedAuthservId'],
        message: 'required when requireAuthenticatedSender is true (the authserv-id of your MTA)',
      });
    }
  })
  .transform((s) => ({
    ...s,
    requireAuthenticatedSender: s.requireAuthenticatedSender ?? s.trustedAuthservId !== undefined,
  }));

const LimitsSchema = z.strictObject({
  maxMessageBytes: positiveInt.default(DEFAULT_LIMITS.maxMessageBytes),
  maxMimeDepth: positiveInt.default(DEFAULT_LIMITS.maxMimeDepth),
  maxHeaderBytes: positiveInt.default(DEFAULT_LIMITS.maxHeaderBytes),
  maxParts: positiveInt.default(DEFAULT_LIMITS.maxParts),
  maxAttachmentBytes: positiveInt.default(DEFAULT_LIMITS.maxAttachmentBytes),
  maxTextChars: positiveInt.default(DEFAULT_LIMITS.maxTextChars),
  maxIcsLines: positiveInt.default(DEFAULT_LIMITS.maxIcsLines),
  maxIcsComponents: positiveInt.default(DEFAULT_LIMITS.maxIcsComponents),
  maxRecipients: positiveInt.default(DEFAULT_LIMITS.maxRecipients),
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const ConfigSchema = z
  .strictObject({
    bot: BotSchema,
    store: z.strictObject({ path: nonEmpty.default('./vultron-mail.sqlite') }).prefault({}),
    outbox: z
      .strictObject({
        /** Write each outgoing mail as a .eml file here instead of sending it (exclusive with smtp). */
        directory: nonEmpty.optional(),
        /** Stop retrying a mail after this many hours and tell the coordinators. */
        giveUpHours: z.number().positive().default(72),
      })
      .prefault({}),
    smtp: SmtpSchema.optional(),
    imap: ImapSchema.optional(),
    coordinators: z.array(email).min(1, { error: 'at least one coordinator is required' }),
    contacts: z
      .array(ContactSchema)
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Map<string, number>();
        list.forEach((c, i) => {
          const key = c.email.toLowerCase();
          const first = seen.get(key);
          if (first === undefined) seen.set(key, i);
          else
            ctx.addIssue({ code: 'custom', path: [i, 'email'], message: `duplicate of contacts[${first}]` });
        });
      }),
    policy: PolicySchema.prefault({}),
    security: SecuritySchema.prefault({}),
    limits: LimitsSchema.prefault({}),
    health: z
      .strictObject({
        host: nonEmpty.default('127.0.0.1'),
        /** The HTTP health endpoint is off unless a port is set. */
        port: port.optional(),
      })
      .prefault({}),
    templates: z.strictObject({ directory: nonEmpty.optional() }).prefault({}),
  })
  .check(
    // Runs even when other keys have problems, so that every problem is reported at once.
    z.superRefine(
      (value: unknown, ctx) => {
        if (!isRecord(value)) return;
        const hasSmtp = value['smtp'] !== undefined;
        const outbox = value['outbox'];
        const hasDir = isRecord(outbox) && outbox['directory'] !== undefined;
        if (hasSmtp === hasDir) {
          ctx.addIssue({
            code: 'custom',
            path: hasSmtp ? ['smtp'] : ['outbox', 'directory'],
            message: hasSmtp
              ? 'set either smtp or outbox.directory, not both'
              : 'set either smtp (send by SMTP) or outbox.directory (write .eml files)',
          });
        }
      },
      { when: () => true },
    ),
  );

export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;
export type LimitsConfig = Config['limits'];
