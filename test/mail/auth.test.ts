/**
 * Sender authentication (DESIGN.md §3, ANCHORS C.2 #1): only the topmost Authentication-Results
 * of our own MTA counts; it must show dmarc=pass (for the From domain) or an aligned dkim=pass.
 */
import { describe, expect, it } from 'vitest';
import { aligned, authVerdict, parseAuthResults } from '../../src/mail/auth.js';
import { AUTHSERV, VENDOR, alerts, harness, mail, rowsTo } from './harness.js';

/** A parsed-mail stand-in with these Authentication-Results fields, topmost first. */
function headers(...values: string[]) {
  return {
    headerLines: values.map((v) => ({ key: 'authentication-results', line: `Authentication-Results: ${v}` })),
  };
}

const verdict = (...values: string[]) => authVerdict(headers(...values), AUTHSERV, 'vendor.example').ok;

describe('authVerdict', () => {
  it.each<[string, string[], boolean]>([
    ['dmarc=pass', [`${AUTHSERV}; dmarc=pass (p=reject) header.from=vendor.example`], true],
    ['dmarc=pass without header.from', [`${AUTHSERV}; dmarc=pass`], true],
    ['version number after the authserv-id', [`${AUTHSERV} 1; dmarc=pass header.from=vendor.example`], true],
    ['authserv-id in another case', [`MX.Bot.Example; dmarc=pass header.from=vendor.example`], true],
    [
      'folded over lines',
      [`${AUTHSERV};\r\n\tspf=pass smtp.mailfrom=vendor.example;\r\n\tdmarc=pass header.from=vendor.example`],
      true,
    ],
    ['aligned dkim=pass', [`${AUTHSERV}; dkim=pass header.d=vendor.example header.s=s1; spf=fail`], true],
    ['dkim=pass by the parent domain (relaxed)', [`${AUTHSERV}; dkim=pass header.d=example`], false],
    ['dkim=pass of a subdomain signer', [`${AUTHSERV}; dkim=pass header.d=mail.vendor.example`], true],
    ['dkim=pass with header.i only', [`${AUTHSERV}; dkim=pass header.i=@vendor.example`], true],
    [
      'one failing, one aligned DKIM signature',
      [`${AUTHSERV}; dkim=fail header.d=vendor.example; dkim=pass header.d=vendor.example`],
      true,
    ],
    ['dkim=pass of another domain', [`${AUTHSERV}; dkim=pass header.d=evil.example`], false],
    ['dmarc=pass for another From domain', [`${AUTHSERV}; dmarc=pass header.from=evil.example`], false],
    [
      'dmarc=fail with aligned DKIM: DMARC decides',
      [`${AUTHSERV}; dkim=pass header.d=vendor.example; dmarc=fail`],
      false,
    ],
    ['dmarc=none with aligned DKIM', [`${AUTHSERV}; dkim=pass header.d=vendor.example; dmarc=none`], true],
    ['dmarc=fail', [`${AUTHSERV}; dmarc=fail (p=none) header.from=vendor.example`], false],
    ['spf=pass only', [`${AUTHSERV}; spf=pass smtp.mailfrom=vendor.example`], false],
    ['none', [`${AUTHSERV}; none`], false],
    ['no Authentication-Results at all', [], false],
    ['only another authserv-id', ['mx.vendor.example; dmarc=pass header.from=vendor.example'], false],
    [
      'a forged header of ours below our own',
      [
        `${AUTHSERV}; dmarc=fail header.from=vendor.example`,
        `${AUTHSERV}; dmarc=pass header.from=vendor.example`,
      ],
      false,
    ],
    [
      'our own on top, older ones below ignored',
      [`${AUTHSERV}; dmarc=pass header.from=vendor.example`, `${AUTHSERV}; dmarc=fail`],
      true,
    ],
    [
      'a foreign header above ours is skipped',
      ['mx.evil.example; dmarc=pass', `${AUTHSERV}; dmarc=fail`],
      false,
    ],
    [
      '"dmarc=pass" inside a comment',
      [`${AUTHSERV}; spf=fail (dmarc=pass) smtp.mailfrom=vendor.example`],
      false,
    ],
    [
      '"dmarc=pass" inside a crafted property value',
      [`${AUTHSERV}; spf=fail smtp.mailfrom="dmarc=pass"@evil.example`],
      false,
    ],
    [
      '"; dmarc=pass" inside a quoted value',
      [`${AUTHSERV}; spf=fail smtp.mailfrom="x; dmarc=pass"@evil.example`],
      false,
    ],
    ['an authserv-id that merely starts like ours', [`${AUTHSERV}.evil.example; dmarc=pass`], false],
  ])('%s', (_name, values, expected) => {
    expect(verdict(...values)).toBe(expected);
  });

  it('says why', () => {
    expect(authVerdict(headers(), AUTHSERV, 'vendor.example').detail).toBe(
      `no Authentication-Results from ${AUTHSERV}`,
    );
    expect(authVerdict(headers(`${AUTHSERV}; spf=pass; dkim=fail`), AUTHSERV, 'vendor.example').detail).toBe(
      'no DMARC pass or aligned DKIM pass (spf=pass dkim=fail)',
    );
  });

  it('parseAuthResults', () => {
    expect(
      parseAuthResults(
        'mx.example (comment) 1; dkim=pass (good) header.d=a.example header.s="s 1"; dmarc=pass',
      ),
    ).toEqual({
      authservId: 'mx.example',
      results: [
        { method: 'dkim', result: 'pass', props: { 'header.d': 'a.example', 'header.s': 's 1' } },
        { method: 'dmarc', result: 'pass', props: {} },
      ],
    });
  });

  it('aligned', () => {
    expect(aligned('vendor.example', 'vendor.example')).toBe(true);
    expect(aligned('psirt.vendor.example', 'vendor.example')).toBe(true);
    expect(aligned('vendor.example', 'mail.vendor.example')).toBe(true);
    expect(aligned('vendor.example', 'evilvendor.example')).toBe(false);
    expect(aligned('vendor.example', 'example')).toBe(false);
  });
});

describe('spoofing (ANCHORS C.2 #1) with requireAuthenticatedSender', () => {
  it('a mail claiming the vendor without our DMARC pass changes nothing and answers nobody', async () => {
    const h = harness({ requireAuthenticatedSender: true });
    // Seed with authenticated mails.
    const auth = (domain: string) => [
      `Authentication-Results: ${AUTHSERV}; dmarc=pass header.from=${domain}`,
    ];
    const opened = await h.ingest(
      mail({
        from: 'finder@researcher.example',
        subject: 'Bug',
        body: 'x\n',
        top: auth('researcher.example'),
      }),
    );
    const id = opened.caseId as string;
    await h.ingest(
      mail({
        from: 'coord@cert.example',
        subject: `[${id}] inv`,
        body: `/invite ${VENDOR} vendor\n`,
        top: auth('cert.example'),
      }),
    );
    const before = JSON.stringify(h.getCase(id));
    h.mark();
    for (const top of [
      [],
      [`Authentication-Results: ${AUTHSERV}; dmarc=fail header.from=vendor.example`],
      // The forger adds a "pass" of our id; our MTA's own verdict is on top.
      [
        `Authentication-Results: ${AUTHSERV}; dmarc=fail header.from=vendor.example`,
        `Authentication-Results: ${AUTHSERV}; dmarc=pass`,
      ],
    ]) {
      const r = await h.ingest(
        mail({
          from: VENDOR,
          subject: `Re: [${id}] x`,
          body: '/invalid\n',
          top,
          headers: { 'Reply-To': 'attacker@evil.example' },
        }),
      );
      expect(r).toMatchObject({ outcome: 'quarantined', reason: 'unauthenticated' });
    }
    expect(JSON.stringify(h.getCase(id))).toBe(before);
    // Never answered: not the claimed address, not Reply-To. Only the coordinators hear of it.
    expect(rowsTo(h.newRows(), VENDOR)).toEqual([]);
    expect(rowsTo(h.newRows(), 'attacker@evil.example')).toEqual([]);
    expect(h.newRows()).toEqual(alerts(h.newRows()));
    expect(alerts(h.newRows())).toHaveLength(3);

    const real = await h.ingest(
      mail({ from: VENDOR, subject: `Re: [${id}] x`, body: '/valid\n', top: auth('vendor.example') }),
    );
    expect(real).toMatchObject({ outcome: 'applied', detail: 'RV' });
  });

  it('a release of an unauthenticated entry skips that check only', async () => {
    const h = harness({ requireAuthenticatedSender: true });
    const raw = mail({ from: 'finder@researcher.example', subject: 'Bug', body: 'x\n' });
    expect(await h.ingest(raw)).toMatchObject({ reason: 'unauthenticated' });
    expect(await h.ingest(raw, { skip: ['unauthenticated'] })).toMatchObject({ outcome: 'opened' });
  });
});
