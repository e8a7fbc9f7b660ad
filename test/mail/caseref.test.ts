/**
 * Case identification (DESIGN.md §3): the subject tag among prefixes in any language, folds and
 * other trackers' tags; the tag and our Message-IDs only select a candidate, membership
 * authorises; a mail naming a case its sender is not in never opens one.
 */
import { describe, expect, it } from 'vitest';
import { subjectCaseTag } from '../../src/mail/subject.js';
import { COORD, OUTSIDER, REPORTER, VENDOR, alerts, harness, mail, rowsTo } from './harness.js';

describe('subjectCaseTag', () => {
  it.each<[string, string | undefined]>([
    ['[VM-2026-0001] Heap overflow', 'VM-2026-0001'],
    ['Re: [VM-2026-0001] Heap overflow', 'VM-2026-0001'],
    ['AW: [VM-2026-0001] Heap overflow', 'VM-2026-0001'],
    ['SV: [VM-2026-0001] Heap overflow', 'VM-2026-0001'],
    ['Fwd: [VM-2026-0001] Heap overflow', 'VM-2026-0001'],
    ['RE: AW: Re: [VM-2026-0001] Heap overflow', 'VM-2026-0001'],
    ['回复: [VM-2026-0001] 堆溢出', 'VM-2026-0001'],
    ['Odp: Vs: Antw: [VM-2026-0001] x', 'VM-2026-0001'],
    ['[VM-2026-0001] [RT #123] Heap overflow', 'VM-2026-0001'],
    ['Re: [RT #123] [vm-2026-0001] Heap overflow', 'vm-2026-0001'],
    ['[example.org #4711] Re: Heap overflow [VM-2026-0042]', 'VM-2026-0042'],
    ['Re: [VM-2026-12345] more digits', 'VM-2026-12345'],
    ['Re: [ VM-2026-0001 ] spaced', 'VM-2026-0001'],
    // A client that folded inside the tag (the fold leaves whitespace once unfolded).
    ['Re: [VM-2026- 0001] folded', 'VM-2026-0001'],
    ['Re: [VM-2026-\t0001] folded', 'VM-2026-0001'],
    ['Re: ［VM-2026-0001］ full-width brackets', 'VM-2026-0001'],
    ['Re: VM-2026-0001 without brackets', undefined],
    ['Re: [VM-26-0001] short year', undefined],
    ['Re: [VM-2026-001] short counter', undefined],
    ['Re: [XY-2026-0001] other prefix', undefined],
    ['', undefined],
  ])('%j → %s', (subject, expected) => {
    expect(subjectCaseTag(subject, 'VM')).toBe(expected);
  });

  it('the first of two tags', () => {
    expect(subjectCaseTag('[VM-2026-0002] Re: [VM-2026-0001]', 'VM')).toBe('VM-2026-0002');
  });

  it('a configured prefix with regex characters is taken literally', () => {
    expect(subjectCaseTag('[A1-2026-0001]', 'A1')).toBe('A1-2026-0001');
    expect(subjectCaseTag('[AX-2026-0001]', 'A.')).toBeUndefined();
  });
});

describe('case identification in the pipeline', () => {
  it.each([
    'Re: AW: [vm-2026-0001] Heap overflow',
    'SV: Re: [RT #99] [VM-2026-0001] Heap overflow',
    'Fwd: RE: [VM-2026-0001]\r\n [ticket:17] a very long subject that the client folded onto a second line',
  ])('a vendor reply with subject %j is applied to the case', async (subject) => {
    const h = harness();
    const id = await h.seedCase();
    const r = await h.ingest(mail({ from: VENDOR, subject, body: '/valid\n' }));
    expect(r).toMatchObject({ outcome: 'applied', caseId: id, detail: 'RV' });
  });

  it('our Message-ID in In-Reply-To wins over a subject without a tag', async () => {
    const h = harness();
    const id = await h.seedCase();
    const ours = h.outbox().find((r) => r.to[0] === VENDOR)?.messageId as string;
    const r = await h.ingest(
      mail({ from: VENDOR, subject: 'Re: your mail', body: '/valid\n', headers: { 'In-Reply-To': ours } }),
    );
    expect(r).toMatchObject({ outcome: 'applied', caseId: id });
  });

  it('a plus-address names the case', async () => {
    const h = harness();
    const id = await h.seedCase();
    const r = await h.ingest(
      mail({ from: VENDOR, to: `cvd+${id.toLowerCase()}@bot.example`, subject: 'x', body: '/valid\n' }),
    );
    expect(r).toMatchObject({ outcome: 'applied', caseId: id });
  });

  it('a participant of case A cannot act on case B by its subject tag', async () => {
    const h = harness();
    const a = await h.seedCase();
    // Case B: another reporter's report; the vendor of A is not in it.
    const b = (
      await h.ingest(mail({ from: 'other@researcher2.example', subject: 'Second bug', body: 'details\n' }))
    ).caseId as string;
    expect(b).not.toBe(a);
    const before = JSON.stringify(h.getCase(b));
    h.mark();
    const r = await h.ingest(mail({ from: VENDOR, subject: `Re: [${b}] Second bug`, body: '/invalid\n' }));
    expect(r).toMatchObject({
      outcome: 'quarantined',
      reason: 'not-a-participant',
      detail: `case reference ${b}`,
    });
    expect(JSON.stringify(h.getCase(b))).toBe(before);
    expect(h.store.listCases()).toHaveLength(2);
    // The sender gets a reply that names no case; the coordinators an alert.
    const told = rowsTo(h.newRows(), VENDOR);
    expect(told).toHaveLength(1);
    expect(told[0]?.subject).toBe('Your mail was not processed');
    expect(told[0]?.raw.toString('utf8')).not.toMatch(new RegExp(`${b}|${a}|Second bug`, 'i'));
    expect(alerts(h.newRows()).map((row) => row.to[0])).toEqual([COORD]);
  });

  it('a guessed tag of a case that does not exist: the same answer as for one that does', async () => {
    const h = harness();
    await h.seedCase();
    h.mark();
    const r = await h.ingest(mail({ from: OUTSIDER, subject: '[VM-2026-0099] hello', body: 'hi\n' }));
    expect(r).toMatchObject({ outcome: 'quarantined', reason: 'not-a-participant' });
    const exists = await h.ingest(mail({ from: OUTSIDER, subject: '[VM-2026-0001] hello', body: 'hi\n' }));
    expect(exists).toMatchObject({ outcome: 'quarantined', reason: 'not-a-participant' });
    const [one, two] = rowsTo(h.newRows(), OUTSIDER).map(
      (row) => row.raw.toString('utf8').split('\r\n\r\n')[1],
    );
    expect(one).toBe(two);
  });

  it('a forged In-Reply-To to one of our Message-IDs from an outsider: not-a-participant, no case opened', async () => {
    const h = harness();
    const id = await h.seedCase();
    const ours = h.outbox().find((r) => r.to[0] === REPORTER)?.messageId as string;
    const cases = h.store.listCases().length;
    const r = await h.ingest(
      mail({
        from: OUTSIDER,
        subject: 'Re: hello',
        body: '/close\n',
        headers: { 'In-Reply-To': ours, References: ours },
      }),
    );
    expect(r).toMatchObject({
      outcome: 'quarantined',
      reason: 'not-a-participant',
      detail: `case reference ${id}`,
    });
    expect(h.store.listCases()).toHaveLength(cases);
    // Also a made-up Message-ID in our form.
    const forged = await h.ingest(
      mail({
        from: OUTSIDER,
        subject: 'Re: hello',
        headers: { 'In-Reply-To': `<${id}.0000000000000000@bot.example>` },
      }),
    );
    expect(forged).toMatchObject({ outcome: 'quarantined', reason: 'not-a-participant' });
    expect(h.store.listCases()).toHaveLength(cases);
  });

  it('only a mail with no case reference at all opens a case, from anyone', async () => {
    const h = harness();
    const r = await h.ingest(mail({ from: OUTSIDER, subject: 'Found a bug', body: 'details\n' }));
    expect(r.outcome).toBe('opened');
  });
});
