/**
 * A second baseline for the ingest throughput (docs/performance.md): the same work done by the
 * bare libraries. Per inbound message: mailparser parses it, nodemailer's MailComposer builds as
 * many mails as the gateway wrote for it (the same headers, text and calendar part, read back
 * from the gateway's outbox rows), and better-sqlite3 commits the message and those mails in
 * one transaction with the store's settings (WAL, synchronous=FULL). What the gateway costs
 * beyond this floor is its own code: interpreting, decide(), the case snapshot, the templates.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { MailComposerOptions } from 'nodemailer/lib/mail-composer';
import type { Store } from '../store/port.js';

export interface FloorMessage {
  raw: Buffer;
  /** Options of the mails the gateway wrote for this message. */
  mails: MailComposerOptions[];
}

/** One mail written by the gateway, as MailComposer options giving an equivalent mail. */
async function equivalent(raw: Buffer): Promise<MailComposerOptions> {
  const m = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  const header = (name: string) => {
    const v = m.headers.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const ics = m.attachments.find((a) => a.contentType === 'text/calendar');
  const method = ics ? /^METHOD:(\S+)/m.exec(ics.content.toString('utf8'))?.[1] : undefined;
  return {
    messageId: m.messageId,
    date: m.date,
    from: m.from?.text,
    to: Array.isArray(m.to) ? m.to.map((a) => a.text).join(', ') : m.to?.text,
    replyTo: m.replyTo?.text,
    subject: m.subject,
    inReplyTo: m.inReplyTo,
    references: m.references,
    headers: Object.fromEntries(
      [
        'auto-submitted',
        'x-vultron-loop',
        'x-auto-response-suppress',
        'precedence',
        'x-vultron-message-types',
        'x-vultron-case',
      ].flatMap((h) => (header(h) === undefined ? [] : [[h, header(h) as string]])),
    ),
    text: m.text,
    newline: 'win',
    ...(ics && method
      ? { icalEvent: { method, filename: 'invite.ics', content: ics.content.toString() } }
      : {}),
  };
}

/**
 * The mails the gateway wrote for each message: outbox rows are numbered in order, so the rows
 * above the last one seen after a message are that message's.
 */
export async function recordMails(
  messages: ReadonlyArray<{ raw: Buffer; now: string }>,
  ingest: (raw: Buffer, now: string) => Promise<unknown>,
  store: Pick<Store, 'getOutbox'>,
): Promise<FloorMessage[]> {
  const out: FloorMessage[] = [];
  let next = 1;
  for (const m of messages) {
    await ingest(m.raw, m.now);
    const mails: MailComposerOptions[] = [];
    for (let row = store.getOutbox(next); row; row = store.getOutbox(next)) {
      mails.push(await equivalent(row.raw));
      next += 1;
    }
    out.push({ raw: m.raw, mails });
  }
  return out;
}

/** Messages/s of the floor over `work`, with a fresh database in `dir`. */
export async function floorRun(work: readonly FloorMessage[], dir: string): Promise<number> {
  const db = new Database(join(dir, 'floor.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE raw (id INTEGER PRIMARY KEY, raw BLOB NOT NULL)');
    db.exec('CREATE TABLE mail (id INTEGER PRIMARY KEY, raw BLOB NOT NULL)');
    const addRaw = db.prepare('INSERT INTO raw (raw) VALUES (?)');
    const addMail = db.prepare('INSERT INTO mail (raw) VALUES (?)');
    const commit = db.transaction((raw: Buffer, mails: Buffer[]) => {
      addRaw.run(raw);
      for (const m of mails) addMail.run(m);
    });
    const t = process.hrtime.bigint();
    for (const w of work) {
      await simpleParser(w.raw);
      const mails: Buffer[] = [];
      for (const opts of w.mails) mails.push(await new MailComposer(opts).compile().build());
      commit.immediate(w.raw, mails);
    }
    return work.length / (Number(process.hrtime.bigint() - t) / 1e9);
  } finally {
    db.close();
  }
}
