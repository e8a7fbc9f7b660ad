/** `vultron-mail ingest` and `quarantine release`: raw RFC 822 messages into the pipeline. */
import { ALERT_ID_PREFIX } from '../case/ratecaps.js';
import { InboundPipeline } from '../mail/inbound.js';
import type { IngestResult, Override } from '../mail/inbound.js';
import { composeNotice, newMessageId } from '../outbound/compose.js';
import type { App } from './app.js';

/** The exit code `ingest` uses for a temporary failure, so the MTA retries (EX_TEMPFAIL). */
export const EXIT_TEMPFAIL = 75;

export interface IngestReport {
  /** One line per message: `<name>: <outcome> [<case id>] <detail>`. */
  lines: string[];
  exitCode: number;
}

/** Failures that may pass by themselves: the database is busy or the disk is full. */
export function isTemporaryFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    /^(SQLITE_BUSY|SQLITE_LOCKED|SQLITE_FULL|SQLITE_IOERR|ENOSPC|EAGAIN|EMFILE)/.test(code)
  );
}

export function pipelineFor(app: App): InboundPipeline {
  return new InboundPipeline({
    store: app.store,
    service: app.service,
    policy: app.policy,
    bot: app.bot,
    security: app.config.security,
    limits: app.config.limits,
    coordinators: app.config.coordinators,
    composeNotice: async (notice) =>
      (
        await composeNotice({
          bot: app.bot,
          messageId: newMessageId(notice.kind === 'alert' ? ALERT_ID_PREFIX : 'reply', app.bot.domain),
          to: notice.to,
          subject: notice.subject,
          lines: notice.lines,
          types: notice.types,
          inbound: notice.inReplyTo ? { messageId: notice.inReplyTo, references: [], subject: '' } : null,
          now: notice.now,
        })
      ).row,
  });
}

/** What became of one message: handled (with the pipeline's result), or a failure. */
export type IngestOneResult =
  | { kind: 'handled'; result: IngestResult }
  | { kind: 'quarantined-failure'; entry: number; error: string }
  /** Nothing committed; `unquarantined`: the pipeline failed and even quarantining it failed. */
  | { kind: 'temporary'; error: string; unquarantined?: boolean }
  | { kind: 'failed'; error: string };

/**
 * One message through the pipeline, as `ingest` does it: a temporary failure is reported as
 * such (nothing committed, try again later); any other failure of the pipeline quarantines the
 * message as `malformed`, so it is never lost; only when even that fails is it `failed`.
 */
export async function ingestOne(
  app: App,
  pipeline: InboundPipeline,
  raw: Buffer,
  now: string,
): Promise<IngestOneResult> {
  try {
    return { kind: 'handled', result: await pipeline.ingest(raw, now) };
  } catch (err) {
    const error = (err as Error).message;
    if (isTemporaryFailure(err)) return { kind: 'temporary', error };
    try {
      return { kind: 'quarantined-failure', entry: quarantineFailure(app, raw, now, err), error };
    } catch (again) {
      const more = `${error}; could not quarantine: ${(again as Error).message}`;
      return isTemporaryFailure(again)
        ? { kind: 'temporary', error: more, unquarantined: true }
        : { kind: 'failed', error: more };
    }
  }
}

/**
 * Processes each message (files, or one from stdin). Exit 0 when every message was handled
 * (applied, ignored, a duplicate or quarantined); 75 when one failed temporarily (the MTA
 * retries); 1 on a failure of the bot itself. A message that makes the pipeline fail for
 * any other reason is quarantined as `malformed` with the error, so it is never lost.
 */
export async function ingestMessages(
  app: App,
  inputs: Array<{ name: string; raw: Buffer }>,
  now: string,
): Promise<IngestReport> {
  const pipeline = pipelineFor(app);
  const lines: string[] = [];
  let exitCode = 0;
  for (const { name, raw } of inputs) {
    const one = await ingestOne(app, pipeline, raw, now);
    switch (one.kind) {
      case 'handled': {
        const r = one.result;
        const reason = r.reason ? ` ${r.reason}` : '';
        lines.push(`${name}: ${r.outcome}${reason}${r.caseId ? ` ${r.caseId}` : ''} ${r.detail}`.trimEnd());
        break;
      }
      case 'quarantined-failure':
        lines.push(`${name}: quarantined malformed (entry ${one.entry}): ${one.error}`);
        break;
      case 'temporary':
        lines.push(`${name}: ${one.unquarantined ? 'failed' : 'temporary failure'}: ${one.error}`);
        exitCode = Math.max(exitCode, EXIT_TEMPFAIL);
        break;
      case 'failed':
        lines.push(`${name}: failed: ${one.error}`);
        exitCode = 1;
        break;
    }
  }
  return { lines, exitCode };
}

function quarantineFailure(app: App, raw: Buffer, now: string, err: unknown): number {
  const messageId =
    /^message-id:\s*(<[^<>\s]+>)/im.exec(raw.subarray(0, 65536).toString('latin1'))?.[1] ?? null;
  const from =
    /^from:[^\n]*?([^\s<>"]+@[^\s<>"]+)/im.exec(raw.subarray(0, 65536).toString('latin1'))?.[1] ?? null;
  return app.store.transaction(() => {
    const rawId = app.store.addRawMessage(messageId, raw, now);
    return app.store.addQuarantine({
      messageId,
      from,
      reason: 'malformed',
      at: now,
      detail: `processing failed: ${(err as Error).message}`.slice(0, 2000),
      rawId,
    });
  });
}

/** The quarantine reasons whose check a release skips; other reasons are simply re-processed. */
const OVERRIDE_OF: Readonly<Record<string, Override>> = {
  'too-large': 'too-large',
  unauthenticated: 'unauthenticated',
  'duplicate-message-id': 'duplicate-message-id',
  loop: 'loop',
};

/** Re-processes a quarantined message, skipping the check that held it; the entry is removed. */
export async function releaseQuarantined(app: App, id: number, now: string): Promise<string> {
  const entry = app.store.getQuarantine(id);
  if (!entry) throw new Error(`no quarantine entry ${id}`);
  const raw = app.store.getRawMessage(entry.rawId);
  if (!raw) throw new Error(`quarantine entry ${id} has no raw message`);
  const override = OVERRIDE_OF[entry.reason];
  const r = await pipelineFor(app).ingest(raw, now, { release: { skip: override ? [override] : [] } });
  // Only once the message is handled (applied, or held again under a new entry).
  app.store.deleteQuarantine(id);
  return `released ${id}: ${r.outcome}${r.reason ? ` ${r.reason}` : ''}${r.caseId ? ` ${r.caseId}` : ''} ${r.detail}`.trimEnd();
}
