/**
 * The case service: load the snapshot → decide() → persist everything in ONE store
 * transaction (ledger row, raw message, snapshot and log, reports, rendered outbox rows with
 * their pre-assigned Message-IDs, timers). Mails are rendered before the transaction (MIME
 * composition is asynchronous); the transaction itself is synchronous.
 */
import { decide, newCase } from '../protocol/index.js';
import type {
  CaseSnapshot,
  Decision,
  Input,
  MailEffect,
  MessageCode,
  Policy,
  TimerRef,
} from '../protocol/index.js';
import type { Attachment, LedgerEntry, NewOutboxRow, Store } from '../store/port.js';
import { isReply, replyAllowed } from './ratecaps.js';
import type { RateCapConfig } from './ratecaps.js';

export interface BotIdentity {
  address: string;
  name: string;
  domain: string;
  caseIdPrefix: string;
}

/** The inbound mail being processed, as the service needs it. */
export interface InboundMail {
  messageId: string | null;
  raw: Buffer;
  receivedAt: string;
  subject: string;
  references: string[];
  ledger: Omit<LedgerEntry, 'caseId' | 'outcome' | 'at'> | null;
  /** Re-processing a released quarantine entry: its ledger row is replaced, not added. */
  releasing?: boolean;
}

export interface ReportContent {
  from: string;
  subject: string;
  text: string;
  attachments: Attachment[];
}

export interface ComposeRequest {
  effect: MailEffect;
  snapshot: CaseSnapshot;
  inbound: { messageId: string; references: string[]; subject: string } | null;
  /** For report mails: what is forwarded. */
  report: ReportContent | null;
  now: string;
}

/** Renders one mail effect into an outbox row (src/outbound). */
export type Composer = (req: ComposeRequest) => Promise<NewOutboxRow>;

/** Renders a reply that belongs to no case (a command error in a mail that opened none). */
export type CaselessComposer = (req: Omit<ComposeRequest, 'snapshot' | 'report'>) => Promise<NewOutboxRow>;

/** A command error: answered without a decision, nothing in the case changes. */
export interface CommandErrorReply {
  caseId: string | null;
  to: string;
  types: MessageCode[];
  error: { code: string; message: string; line?: string };
  inbound: InboundMail;
  now: string;
}

export interface CaseServiceDeps {
  store: Store;
  policy: Policy;
  bot: BotIdentity;
  coordinators: ReadonlyArray<{ email: string; name?: string | null }>;
  /** Per-contact embargo limits (config `contacts`). */
  contactMaxDays: (email: string) => number | null;
  compose: Composer;
  composeCaseless: CaselessComposer;
  /** Caps on acknowledgements and errors to one sender (config `security.rateCaps`); none if absent. */
  rateCaps?: RateCapConfig;
  /** Told of every committed decision (the daemon's metrics); must not throw. */
  observe?: (outcome: Outcome) => void;
}

export interface Outcome {
  caseId: string;
  applied: boolean;
  outbox: number[];
  decision: Decision & { input: Input };
}

export function formatCaseId(prefix: string, year: number, n: number): string {
  return `${prefix}-${year}-${String(n).padStart(4, '0')}`;
}

export class CaseService {
  constructor(private readonly deps: CaseServiceDeps) {}

  get store(): Store {
    return this.deps.store;
  }

  /** A new report (a mail with no case reference, or `case new`): opens a case. */
  async openCase(
    input: Extract<Input, { kind: 'report' }>,
    opts: { now: string; title: string; inbound: InboundMail | null; report: ReportContent },
  ): Promise<Outcome> {
    const { store, bot } = this.deps;
    const year = new Date(opts.now).getUTCFullYear();
    // The number is allocated inside the final transaction; render with a provisional snapshot.
    const draftId = formatCaseId(bot.caseIdPrefix, year, peekCaseNumber(store, bot.caseIdPrefix, year));
    const fresh = newCase({
      id: draftId,
      title: opts.title,
      now: opts.now,
      domain: bot.domain,
      coordinators: this.deps.coordinators,
    });
    const decision = decide(fresh, input, { now: opts.now, policy: this.deps.policy });
    const report = { ...opts.report, receivedAt: opts.now };
    const rows = await this.render(decision, opts.inbound, () => report, report, opts.now);
    const outcome = store.transaction(() => {
      const n = store.nextCaseNumber(bot.caseIdPrefix, year);
      const caseId = formatCaseId(bot.caseIdPrefix, year, n);
      if (caseId !== draftId)
        throw new Error(`case number changed while rendering (${draftId} → ${caseId}); retry`);
      return this.persist({ ...decision, input }, opts.inbound, rows, { ...report, caseId }, opts.now);
    });
    this.deps.observe?.(outcome);
    return outcome;
  }

  /** A message, timer or delivery failure for an existing case. */
  async apply(
    caseId: string,
    input: Input,
    opts: { now: string; inbound: InboundMail | null; report?: ReportContent },
  ): Promise<Outcome> {
    const { store } = this.deps;
    const snapshot = store.getCase(caseId);
    if (!snapshot) throw new Error(`no case ${caseId}`);
    const prepared = this.prepareInput(input);
    const decision = decide(snapshot, prepared, { now: opts.now, policy: this.deps.policy });
    // A newcomer gets the report that opened the case; an added report goes out by itself.
    // Read from the store only when a report mail is to be rendered (attachments can be large).
    let first: ReportContent | null | undefined;
    const firstReport = () => (first ??= store.getReports(caseId)[0] ?? null);
    const rows = await this.render(decision, opts.inbound, firstReport, opts.report ?? null, opts.now);
    const outcome = store.transaction(() => {
      if (store.logLength(caseId) !== snapshot.log.length) {
        throw new Error(`case ${caseId} changed while this message was processed; retry`);
      }
      const report = opts.report ? { ...opts.report, caseId, receivedAt: opts.now } : null;
      return this.persist({ ...decision, input: prepared }, opts.inbound, rows, report, opts.now);
    });
    this.deps.observe?.(outcome);
    return outcome;
  }

  /**
   * Answers a mail whose commands could not be read: the error reply, the raw message, the
   * ledger row and (in a case) a log entry, in one transaction. The case state is unchanged.
   */
  async replyCommandError(req: CommandErrorReply): Promise<void> {
    const { store } = this.deps;
    const snapshot = req.caseId === null ? undefined : store.getCase(req.caseId);
    const effect: MailEffect = {
      type: 'mail',
      kind: 'error',
      to: req.to,
      types: req.types,
      replyToInbound: true,
      calendar: null,
      data: { transitions: [], error: req.error },
    };
    const inboundRef =
      req.inbound.messageId === null
        ? null
        : {
            messageId: req.inbound.messageId,
            references: req.inbound.references,
            subject: req.inbound.subject,
          };
    const row = snapshot
      ? await this.deps.compose({ effect, snapshot, inbound: inboundRef, report: null, now: req.now })
      : await this.deps.composeCaseless({ effect, inbound: inboundRef, now: req.now });
    store.transaction(() => {
      store.addRawMessage(req.inbound.messageId, req.inbound.raw, req.inbound.receivedAt);
      this.recordLedger(req.inbound, snapshot?.id ?? null, 'rejected-command', req.now);
      const cap = replyAllowed(store, this.deps.rateCaps, {
        to: req.to,
        caseId: snapshot?.id ?? null,
        now: req.now,
      });
      if (snapshot) {
        const current = store.getCase(snapshot.id) as CaseSnapshot;
        current.log.push({
          at: req.now,
          kind: 'rejected-command',
          from: req.to,
          types: [],
          detail: `${req.error.line ?? ''}: ${req.error.message.split('\n')[0] ?? ''}`,
        });
        if (!cap.ok) current.log.push(rateCappedEntry(req.now, req.to, row.types, cap.detail));
        store.saveCase(current);
      }
      if (cap.ok) store.addOutbox({ ...row, caseId: snapshot?.id ?? null });
    });
  }

  private recordLedger(inbound: InboundMail, caseId: string | null, outcome: string, now: string): void {
    if (!inbound.ledger) return;
    const entry = { ...inbound.ledger, caseId, outcome, at: now };
    if (inbound.releasing) this.deps.store.replaceLedger(entry);
    else this.deps.store.addLedger(entry);
  }

  /** Runs every timer due at `now`, oldest first. Returns the number fired. */
  async runDueTimers(now: string): Promise<number> {
    let fired = 0;
    for (const { caseId, timer } of this.deps.store.dueTimers(now)) {
      await this.apply(caseId, { kind: 'timer', timer }, { now, inbound: null });
      fired += 1;
    }
    return fired;
  }

  /** Fills what the pure core cannot know: a contact's own embargo limit. */
  private prepareInput(input: Input): Input {
    if (input.kind !== 'message' || !input.payload.invite) return input;
    const inv = input.payload.invite;
    const maxEmbargoDays = inv.maxEmbargoDays ?? this.deps.contactMaxDays(inv.email);
    return { ...input, payload: { ...input.payload, invite: { ...inv, maxEmbargoDays } } };
  }

  private async render(
    decision: Decision,
    inbound: InboundMail | null,
    first: () => ReportContent | null,
    latest: ReportContent | null,
    now: string,
  ): Promise<NewOutboxRow[]> {
    const rows: NewOutboxRow[] = [];
    const replyTo =
      inbound && inbound.messageId
        ? { messageId: inbound.messageId, references: inbound.references, subject: inbound.subject }
        : null;
    for (const effect of decision.effects) {
      if (effect.type !== 'mail') continue;
      const report =
        effect.kind !== 'report' ? null : effect.data.report === 'latest' ? (latest ?? first()) : first();
      rows.push(
        await this.deps.compose({
          effect,
          snapshot: decision.snapshot,
          inbound: effect.replyToInbound ? replyTo : null,
          report,
          now,
        }),
      );
    }
    return rows;
  }

  private persist(
    decision: Decision & { input: Input },
    inbound: InboundMail | null,
    rows: NewOutboxRow[],
    report: (ReportContent & { caseId: string; receivedAt: string }) | null,
    now: string,
  ): Outcome {
    const { store } = this.deps;
    const caseId = decision.snapshot.id;
    if (inbound) {
      store.addRawMessage(inbound.messageId, inbound.raw, inbound.receivedAt);
      this.recordLedger(inbound, caseId, decision.applied ? 'applied' : 'ignored', now);
    }
    // Answers over the rate caps are not written (DESIGN.md §2 "Rate caps"); each is logged.
    const outbox: number[] = [];
    for (const row of rows) {
      const to = row.to[0] ?? '';
      const cap = isReply(row.types) ? replyAllowed(store, this.deps.rateCaps, { to, caseId, now }) : null;
      if (cap && !cap.ok) decision.snapshot.log.push(rateCappedEntry(now, to, row.types, cap.detail));
      else outbox.push(store.addOutbox({ ...row, caseId }));
    }
    store.saveCase(decision.snapshot);
    if (report) {
      store.addReport({
        caseId,
        messageId: inbound?.messageId ?? null,
        from: report.from,
        subject: report.subject,
        text: report.text,
        attachments: report.attachments,
        receivedAt: report.receivedAt,
      });
    }
    // A fired timer is done, in the same transaction, unless decide() set it again.
    if (decision.input.kind === 'timer') store.clearTimer(caseId, decision.input.timer.id);
    for (const effect of decision.effects) {
      if (effect.type === 'timer-set') store.setTimer(caseId, effect.timer as TimerRef);
      else if (effect.type === 'timer-clear') store.clearTimer(caseId, effect.id);
    }
    return { caseId, applied: decision.applied, outbox, decision };
  }
}

function rateCappedEntry(at: string, to: string, types: MessageCode[], detail: string) {
  return { at, kind: 'rate-capped', from: to, types: [...types], detail: `not sent: ${detail}` };
}

/** The number the next case of (prefix, year) will get, without allocating it. */
function peekCaseNumber(store: Store, prefix: string, year: number): number {
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-${year}-(\\d+)$`, 'i');
  let max = 0;
  for (const c of store.listCases()) {
    const m = pattern.exec(c.id);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}
