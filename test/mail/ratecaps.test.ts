/**
 * Rate caps (DESIGN.md §2 "Rate caps", config `security.rateCaps`): acknowledgements and error
 * replies to one sender beyond the caps of the last hour are not created (and are logged);
 * notifications are never dropped; quarantine alerts to a coordinator share the hourly budget.
 */
import { describe, expect, it } from 'vitest';
import { COORD, OUTSIDER, REPORTER, VENDOR, alerts, harness, mail, rowsTo } from './harness.js';

const CAPS = { perSenderPerHour: 4, perSenderPerCasePerHour: 2 };
const later = (minutes: number) =>
  new Date(Date.parse('2026-03-02T10:00:00Z') + minutes * 60_000).toISOString();

describe('rate caps', () => {
  it('per sender and case: the third acknowledgement within the hour is not created; notifications go on', async () => {
    const h = harness({ rateCaps: CAPS });
    const id = await h.seedCase();
    const acks: number[] = [];
    const notes: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      h.mark();
      const r = await h.ingest(
        mail({ from: VENDOR, subject: `Re: [${id}] note ${i}`, body: `note ${i}\n` }),
        { now: later(i) },
      );
      expect(r.outcome).toBe('applied');
      acks.push(rowsTo(h.newRows(), VENDOR).length);
      notes.push(rowsTo(h.newRows(), COORD).length + rowsTo(h.newRows(), REPORTER).length);
    }
    expect(acks).toEqual([1, 1, 0, 0]);
    expect(notes.every((n) => n >= 2)).toBe(true);
    const capped = h.getCase(id).log.filter((e) => e.kind === 'rate-capped');
    expect(capped).toHaveLength(2);
    expect(capped[0]).toMatchObject({ from: VENDOR, types: ['GK'] });
    expect(capped[0]?.detail).toMatch(
      /^not sent: 2 answers to psirt@vendor\.example in VM-2026-0001 in the last hour \(security\.rateCaps\.perSenderPerCasePerHour 2\)$/,
    );
    // An hour after the first two, answers go out again.
    h.mark();
    await h.ingest(mail({ from: VENDOR, subject: `Re: [${id}] later`, body: 'later\n' }), { now: later(61) });
    expect(rowsTo(h.newRows(), VENDOR)).toHaveLength(1);
  });

  it('per sender across cases and caseless errors: perSenderPerHour', async () => {
    const h = harness({ rateCaps: CAPS });
    const counts: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      h.mark();
      const r = await h.ingest(mail({ from: OUTSIDER, subject: `bug ${i}`, body: '/frobnicate\n' }), {
        now: later(i),
      });
      expect(r.outcome).toBe('rejected-command');
      counts.push(rowsTo(h.newRows(), OUTSIDER).length);
    }
    expect(counts).toEqual([1, 1, 1, 1, 0, 0]);
    // The mails themselves are all in the ledger: handled, not lost.
    expect(h.store.listCases()).toEqual([]);
  });

  it('quarantine notices to one sender and alerts to one coordinator are capped per hour', async () => {
    const h = harness({ rateCaps: CAPS });
    const id = await h.seedCase();
    for (let i = 0; i < 6; i += 1) {
      const r = await h.ingest(mail({ from: OUTSIDER, subject: `Re: [${id}] ${i}`, body: 'hi\n' }), {
        now: later(i),
      });
      expect(r).toMatchObject({ outcome: 'quarantined', reason: 'not-a-participant' });
    }
    expect(rowsTo(h.newRows(), OUTSIDER)).toHaveLength(CAPS.perSenderPerHour);
    expect(alerts(h.newRows())).toHaveLength(CAPS.perSenderPerHour);
    expect(h.store.listQuarantine()).toHaveLength(6);
    expect(h.store.listQuarantine().at(-1)?.detail).toMatch(
      /sender not told: 4 answers to mallory@evil\.example/,
    );
  });

  it('a loop with another robot dies out: it keeps writing, we stop answering', async () => {
    const h = harness({ rateCaps: CAPS });
    const id = await h.seedCase();
    // A helpdesk that answers every mail with a human-looking reply (no machine headers).
    let answers = 0;
    for (let i = 0; i < 20; i += 1) {
      h.mark();
      await h.ingest(
        mail({
          from: VENDOR,
          subject: `Re: [${id}] ticket #77 updated`,
          body: `Ticket #77 updated (${i}).\n`,
        }),
        {
          now: later(i),
        },
      );
      answers += rowsTo(h.newRows(), VENDOR).length;
    }
    expect(answers).toBe(CAPS.perSenderPerCasePerHour);
  });

  it('without caps configured, nothing is capped', async () => {
    const h = harness({ rateCaps: null });
    const id = await h.seedCase();
    for (let i = 0; i < 5; i += 1)
      await h.ingest(mail({ from: VENDOR, subject: `Re: [${id}] ${i}`, body: `n${i}\n` }));
    expect(rowsTo(h.newRows(), VENDOR)).toHaveLength(5);
  });
});
