/**
 * The inbound pipeline wired as the CLI wires it (src/cli/ingest.ts, src/cli/app.ts), on an
 * in-memory store: real case service, real composers, real notices. Helpers build raw mails
 * and seed a case with a reporter, a coordinator and a vendor that has the report.
 */
import { CaseService } from '../../src/case/service.js';
import { ALERT_ID_PREFIX } from '../../src/case/ratecaps.js';
import type { RateCapConfig } from '../../src/case/ratecaps.js';
import { DEFAULT_LIMITS, DEFAULT_RATE_CAPS } from '../../src/config/schema.js';
import { InboundPipeline } from '../../src/mail/inbound.js';
import type { IngestResult, Override } from '../../src/mail/inbound.js';
import type { Limits } from '../../src/mail/limits.js';
import {
  composeCaselessError,
  composeMail,
  composeNotice,
  newMessageId,
} from '../../src/outbound/compose.js';
import { DEFAULT_POLICY } from '../../src/protocol/policy.js';
import type { CaseSnapshot } from '../../src/protocol/index.js';
import type { OutboxRow } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { SqliteStore } from '../../src/store/sqlite.js';

export const BOT = { address: 'cvd@bot.example', name: 'CVD Bot', domain: 'bot.example', caseIdPrefix: 'VM' };
export const COORD = 'coord@cert.example';
export const REPORTER = 'finder@researcher.example';
export const VENDOR = 'psirt@vendor.example';
export const OUTSIDER = 'mallory@evil.example';
export const NOW = '2026-03-02T10:00:00Z';
export const AUTHSERV = 'mx.bot.example';

export interface HarnessOptions {
  limits?: Partial<Limits>;
  requireAuthenticatedSender?: boolean;
  rateCaps?: RateCapConfig | null;
}

export interface Harness {
  store: SqliteStore;
  service: CaseService;
  pipeline: InboundPipeline;
  ingest(raw: string | Buffer, opts?: { now?: string; skip?: readonly Override[] }): Promise<IngestResult>;
  outbox(): OutboxRow[];
  /** Rows added since the last call of `mark()`. */
  newRows(): OutboxRow[];
  mark(): void;
  getCase(id: string): CaseSnapshot;
  /** Opens VM-2026-0001 (reporter), invites the vendor (it gets the report). Returns the case id. */
  seedCase(): Promise<string>;
}

export function harness(opts: HarnessOptions = {}): Harness {
  const store = openSqliteStore(':memory:');
  const rateCaps = opts.rateCaps === null ? undefined : (opts.rateCaps ?? { ...DEFAULT_RATE_CAPS });
  const service = new CaseService({
    store,
    policy: DEFAULT_POLICY,
    bot: BOT,
    coordinators: [{ email: COORD, name: 'Casey Coordinator' }],
    contactMaxDays: () => null,
    ...(rateCaps ? { rateCaps } : {}),
    compose: async (req) =>
      (
        await composeMail(req.effect, {
          snapshot: req.snapshot,
          bot: BOT,
          messageId: newMessageId(req.snapshot.id, BOT.domain),
          inbound: req.inbound,
          report: req.report,
          now: req.now,
        })
      ).row,
    composeCaseless: async (req) =>
      (
        await composeCaselessError(req.effect, {
          bot: BOT,
          messageId: newMessageId('reply', BOT.domain),
          inbound: req.inbound,
          now: req.now,
        })
      ).row,
  });
  const pipeline = new InboundPipeline({
    store,
    service,
    policy: DEFAULT_POLICY,
    bot: BOT,
    security: {
      requireAuthenticatedSender: opts.requireAuthenticatedSender ?? false,
      trustedAuthservId: AUTHSERV,
      ...(rateCaps ? { rateCaps } : {}),
    },
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    coordinators: [COORD],
    composeNotice: async (notice) =>
      (
        await composeNotice({
          bot: BOT,
          messageId: newMessageId(notice.kind === 'alert' ? ALERT_ID_PREFIX : 'reply', BOT.domain),
          to: notice.to,
          subject: notice.subject,
          lines: notice.lines,
          types: notice.types,
          inbound: notice.inReplyTo ? { messageId: notice.inReplyTo, references: [], subject: '' } : null,
          now: notice.now,
        })
      ).row,
  });
  let seen = 0;
  const h: Harness = {
    store,
    service,
    pipeline,
    ingest: (raw, o = {}) =>
      pipeline.ingest(
        typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw,
        o.now ?? NOW,
        o.skip ? { release: { skip: o.skip } } : {},
      ),
    outbox: () => store.listOutbox(),
    newRows: () => store.listOutbox().slice(seen),
    mark: () => {
      seen = store.listOutbox().length;
    },
    getCase: (id) => {
      const c = store.getCase(id);
      if (!c) throw new Error(`no case ${id}`);
      return c;
    },
    seedCase: async () => {
      const opened = await h.ingest(
        mail({ from: REPORTER, subject: 'Heap overflow in FooServer', body: 'FooServer 2.3 crashes.\n' }),
      );
      if (opened.outcome !== 'opened' || !opened.caseId) throw new Error(`seed: ${JSON.stringify(opened)}`);
      const id = opened.caseId;
      const invited = await h.ingest(
        mail({ from: COORD, subject: `[${id}] invite`, body: `/invite ${VENDOR} vendor\n` }),
      );
      if (invited.outcome !== 'applied') throw new Error(`seed invite: ${JSON.stringify(invited)}`);
      h.mark();
      return id;
    },
  };
  return h;
}

let counter = 0;

export interface MailSpec {
  from?: string;
  to?: string;
  subject?: string;
  body?: string;
  messageId?: string | null;
  headers?: Record<string, string>;
  /** Header lines written before all others (e.g. Authentication-Results of our MTA). */
  top?: string[];
}

/** A plain-text RFC 822 mail, CRLF. */
export function mail(spec: MailSpec = {}): string {
  counter += 1;
  const lines = [
    ...(spec.top ?? []),
    `From: ${spec.from ?? REPORTER}`,
    `To: ${spec.to ?? BOT.address}`,
    `Subject: ${spec.subject ?? 'hello'}`,
    'Date: Mon, 02 Mar 2026 09:00:00 +0000',
    ...(spec.messageId === null
      ? []
      : [`Message-ID: ${spec.messageId ?? `<m${counter}.${Date.now()}@test.example>`}`]),
    'MIME-Version: 1.0',
    ...Object.entries(spec.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  if (!Object.keys(spec.headers ?? {}).some((k) => k.toLowerCase() === 'content-type')) {
    lines.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
  }
  return `${lines.join('\r\n')}\r\n\r\n${(spec.body ?? 'hello\n').replace(/\r?\n/g, '\r\n')}`;
}

/** Rows of a kind: answers to one address, alerts to the coordinator. */
export function rowsTo(rows: readonly OutboxRow[], to: string): OutboxRow[] {
  return rows.filter((r) => r.to[0] === to);
}

export function alerts(rows: readonly OutboxRow[]): OutboxRow[] {
  return rows.filter((r) => r.messageId.startsWith(`<${ALERT_ID_PREFIX}.`));
}
