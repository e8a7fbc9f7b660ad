/**
 * Plays a case step by step through the CLI (`ingest` of RFC 822 files, `tick`), and checks after
 * each step exactly which mails the bot sent: the new `outbox --json` rows, and the .eml files
 * the directory transport wrote for them (threading, markers, the calendar object).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { expect } from 'vitest';
import type { Sandbox } from '../cli/helpers.js';
import type { OutboxJson } from './mail.js';
import { eml, outboxRows, readSent, writeMail } from './mail.js';

export const DEMO = fileURLToPath(new URL('../../fixtures/demo/', import.meta.url));

/** One mail the step must send, in outbox order. */
export interface Out {
  to: string;
  types: string[];
  subject: string;
  /** The embargo event it carries, as METHOD/STATUS, or null. */
  cal: null | 'REQUEST/TENTATIVE' | 'REQUEST/CONFIRMED' | 'CANCEL/CANCELLED';
  /** `reply`: answers the inbound mail of the step; `case`: a mail of the case thread. */
  thread: 'reply' | 'case';
}

/** A reply to one of the bot's earlier mails, written the way a mail client writes it. */
export interface Reply {
  from: string;
  name: string;
  messageId: string;
  /** The bot's mail answered: the latest row to `to` whose types are exactly `types`. */
  parent: { to: string; types: string[] };
  body: string;
}

export interface Step {
  label: string;
  now: string;
  input: { fixture: string } | { reply: Reply } | { tick: true };
  /** The whole stdout; `$FILE` stands for the ingested file's path. */
  stdout: string;
  out: Out[];
}

export interface Played {
  rows: OutboxJson[];
}

const MESSAGE_ID = (caseId: string, domain: string) =>
  new RegExp(`^<${caseId}\\.[0-9a-f]{16}@${domain.replace(/\./g, '\\.')}>$`);

export async function play(
  s: Sandbox,
  steps: Step[],
  opts: { caseId: string; domain: string; root: string; uid: string },
): Promise<Played> {
  let rows: OutboxJson[] = [];
  for (const step of steps) {
    let file: string | null = null;
    if ('fixture' in step.input) file = `${DEMO}${step.input.fixture}`;
    if ('reply' in step.input) {
      const r = step.input.reply;
      const parent = [...rows]
        .reverse()
        .find((row) => row.to[0] === r.parent.to && row.types.join() === r.parent.types.join());
      if (!parent) throw new Error(`${step.label}: no mail to ${r.parent.to} with ${r.parent.types.join()}`);
      file = writeMail(
        s,
        `${r.messageId.replace(/[<>@]/g, '_')}.eml`,
        eml({
          from: r.from,
          name: r.name,
          subject: `Re: ${parent.subject}`,
          messageId: r.messageId,
          date: step.now,
          inReplyTo: parent.messageId,
          references: [opts.root, parent.messageId],
          body: r.body,
        }),
      );
    }
    const run =
      file === null ? await s.cli('--now', step.now, 'tick') : await s.cli('--now', step.now, 'ingest', file);
    expect({ step: step.label, ...run }).toEqual({
      step: step.label,
      code: 0,
      stdout: step.stdout.replace('$FILE', file ?? ''),
      stderr: '',
    });

    const all = await outboxRows(s);
    const fresh = all.slice(rows.length);
    rows = all;
    const inbound = file === null ? null : await simpleParser(readFileSync(file));
    const expected = step.out.map((o) => ({
      step: step.label,
      to: [o.to],
      types: o.types,
      subject: o.subject,
      calendarMethod: o.cal === null ? null : o.cal.split('/')[0],
      status: 'sent',
      attempts: 1,
      caseId: opts.caseId,
    }));
    expect(
      fresh.map((r) => ({
        step: step.label,
        to: r.to,
        types: r.types,
        subject: r.subject,
        calendarMethod: r.calendarMethod,
        status: r.status,
        attempts: r.attempts,
        caseId: r.caseId,
      })),
    ).toEqual(expected);

    for (const [i, row] of fresh.entries()) {
      const o = step.out[i] as Out;
      expect(row.messageId).toMatch(MESSAGE_ID(opts.caseId, opts.domain));
      const mail = await readSent(s, row.messageId);
      let threading: { inReplyTo: string; references: string[] };
      if (o.thread === 'reply') {
        if (!inbound?.messageId) throw new Error(`${step.label}: a reply needs an inbound mail`);
        const refs = inbound.references ?? [];
        const inherited = [
          ...(Array.isArray(refs) ? refs : [refs]),
          ...(inbound.inReplyTo ?? '').split(/\s+/),
        ];
        threading = {
          inReplyTo: inbound.messageId,
          references: [...new Set([opts.root, ...inherited.filter(Boolean), inbound.messageId])],
        };
      } else {
        threading = { inReplyTo: opts.root, references: [opts.root] };
      }
      expect({ step: step.label, ...mail, calendar: mail.calendar?.method ?? null }).toEqual({
        step: step.label,
        messageId: row.messageId,
        ...threading,
        to: o.to,
        subject: o.subject,
        autoSubmitted: o.thread === 'reply' ? 'auto-replied' : 'auto-generated',
        types: o.types.join(', '),
        calendar: row.calendarMethod,
      });
      if (o.cal !== null) {
        const ics = mail.calendar?.ics ?? '';
        const [method, status] = o.cal.split('/');
        expect({
          step: step.label,
          method: /^METHOD:(\S+)/m.exec(ics)?.[1],
          status: /^STATUS:(\S+)/m.exec(ics)?.[1],
          uid: uidOf(ics),
          attendees: attendees(ics),
        }).toEqual({
          step: step.label,
          method,
          status,
          uid: opts.uid,
          // Each calendar object names its recipient only (DESIGN.md §2 "Confidentiality").
          attendees: [o.to],
        });
      }
    }
  }
  return { rows };
}

/** The ATTENDEE addresses of an iCalendar text (lines unfolded). */
export function attendees(ics: string): string[] {
  const unfolded = ics.replace(/\r?\n[ \t]/g, '');
  return [...unfolded.matchAll(/^ATTENDEE[^:]*:mailto:(\S+)$/gim)].map((m) => (m[1] as string).toLowerCase());
}

/** The UID of an iCalendar text. */
export function uidOf(ics: string): string | undefined {
  return /^UID:(\S+)/m.exec(ics.replace(/\r?\n[ \t]/g, ''))?.[1];
}
