/**
 * Text renderings for the CLI: `case show`, `cases`, `outbox`, `quarantine`. Machine-readable
 * output is `--json` (main.ts); these are for people at a terminal.
 */
import type { CaseSnapshot } from '../protocol/index.js';
import type { CaseSummary, OutboxRow, QuarantineEntry } from '../store/port.js';

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
export function table(header: readonly string[] | null, rows: ReadonlyArray<readonly string[]>): string[] {
  const all = header ? [header, ...rows] : [...rows];
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return all.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

const dash = (v: string | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : v);
const list = (v: readonly string[]): string => (v.length === 0 ? '-' : v.join(','));
const yesNo = (v: boolean): string => (v ? 'yes' : 'no');

/** `case show <id>`: header, states, proposals, participants, log. */
export function renderCase(s: CaseSnapshot): string {
  const out: string[] = [];
  out.push(`${s.id}  ${s.title}`);
  out.push(`opened ${s.createdAt}`);
  out.push('');
  out.push(`EM:           ${s.em}`);
  out.push(`pxa:          ${s.pxa}`);
  out.push(`embargo end:  ${s.embargo.end ?? 'none'}${s.embargo.active ? ` (${s.embargo.active})` : ''}`);

  out.push('', `Proposals (${s.embargo.proposals.length})`);
  if (s.embargo.proposals.length === 0) out.push('  none');
  else
    out.push(
      ...table(
        ['ID', 'KIND', 'STATUS', 'END', 'PROPOSER', 'ACCEPTED BY', 'DECLINED BY', 'RSVP BY', 'UID', 'SEQ'],
        s.embargo.proposals.map((p) => [
          p.id,
          p.kind,
          p.status,
          p.end,
          p.proposer,
          list(p.acceptedBy),
          list(p.declinedBy),
          p.status === 'pending' ? p.rsvpDeadline : '-',
          p.uid,
          String(p.sequence),
        ]),
      ).map((l) => `  ${l}`),
    );

  out.push('', `Participants (${s.participants.length})`);
  out.push(
    ...table(
      ['EMAIL', 'NAME', 'ROLES', 'RM', 'VFD', 'DEPLOYED', 'ENGAGED', 'ADHERES', 'CONSENT', 'REPORT', 'NOTES'],
      s.participants.map((p) => [
        p.email,
        dash(p.name),
        list(p.roles),
        p.rm,
        dash(p.vfd),
        yesNo(p.deployed),
        yesNo(p.engaged),
        yesNo(p.embargoAdherence),
        p.consent,
        p.reportSent ? 'sent' : '-',
        [
          p.undeliverable ? 'undeliverable' : '',
          p.maxEmbargoDays !== null ? `max ${p.maxEmbargoDays} days` : '',
        ]
          .filter(Boolean)
          .join('; ') || '-',
      ]),
    ).map((l) => `  ${l}`),
  );

  out.push('', `Log (${s.log.length})`);
  if (s.log.length === 0) out.push('  empty');
  else
    out.push(
      ...table(
        null,
        s.log.map((e) => [e.at, e.kind, dash(e.from), list(e.types), e.detail.replace(/\s*\n\s*/g, ' ')]),
      ).map((l) => `  ${l}`),
    );
  return out.join('\n') + '\n';
}

/** `cases`: one line per case: id, EM, pxa, participants, embargo end, title. */
export function renderCases(cases: readonly CaseSummary[]): string {
  if (cases.length === 0) return 'no cases\n';
  return (
    table(
      null,
      cases.map((c) => [
        c.id,
        c.em,
        c.pxa,
        `${c.participants} participant${c.participants === 1 ? '' : 's'}`,
        c.embargoEnd === null ? 'no embargo end' : `embargo ends ${c.embargoEnd}`,
        c.title,
      ]),
    ).join('\n') + '\n'
  );
}

/** `outbox`: one line per outgoing mail, oldest first. */
export function renderOutbox(rows: readonly OutboxRow[]): string {
  if (rows.length === 0) return 'no outgoing mail\n';
  return (
    table(
      ['ID', 'STATUS', 'TRIES', 'CASE', 'TO', 'TYPES', 'CALENDAR', 'SUBJECT'],
      rows.map((r) => [
        String(r.id),
        r.status,
        String(r.attempts),
        dash(r.caseId),
        r.to.join(','),
        list(r.types),
        dash(r.calendarMethod),
        r.subject,
      ]),
    ).join('\n') + '\n'
  );
}

/** `quarantine`: one line per held message. */
export function renderQuarantine(entries: readonly QuarantineEntry[]): string {
  if (entries.length === 0) return 'quarantine is empty\n';
  return (
    table(
      ['ID', 'AT', 'REASON', 'FROM', 'MESSAGE-ID', 'DETAIL'],
      entries.map((q) => [
        String(q.id),
        q.at,
        q.reason,
        dash(q.from),
        dash(q.messageId),
        dash(q.detail.replace(/\s*\n\s*/g, ' ')),
      ]),
    ).join('\n') + '\n'
  );
}
