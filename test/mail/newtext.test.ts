/**
 * extractNewText: the sender's own new text of a plain-text body. The real replies from
 * fixtures/mime (copied byte-exact from shared/fixtures, see its SOURCES.md) are parsed with
 * mailparser as the inbound pipeline will; "derived" cases change one line of a real fixture
 * (marked as such) to put a command where only quoted or forwarded text is.
 */
import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { parseCommands } from '../../src/mail/commands.js';
import { extractNewText } from '../../src/mail/newtext.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/mime/${name}`, import.meta.url));

/** What the pipeline will see: mailparser's text of the raw mail. */
async function bodyText(raw: Buffer | string): Promise<string> {
  const mail = await simpleParser(raw);
  return mail.text ?? '';
}

/** Replaces exactly one occurrence of `from` in the raw mail (a derived fixture). */
function derive(raw: Buffer, from: string, to: string): string {
  const text = raw.toString('latin1');
  expect(text.split(from)).toHaveLength(2);
  return text.replace(from, to);
}

const OPTS = { arrivedAt: '2027-01-10T09:00:00Z', policy: { embargo: { defaultDays: 45 } } };

describe('real replies (fixtures/mime)', () => {
  it.each([
    // SOURCES.md: "The reply text is only "Hello"".
    ['12-outlook-top-post-from-sent.eml', 'Hello'],
    // SOURCES.md: "The reply text is "Hello"".
    ['13-gmail-reply-on-wrote.eml', 'Hello'],
    // The forward is a message/rfc822 attachment (not in mailparser's text); the signature goes.
    ['16-forwarded-message-rfc822.eml', 'Test for parsing forwarded emails.'],
    // HTML only: mailparser derives the text (SOURCES.md); `&nbsp;` becomes U+00A0.
    ['15-html-only.eml', 'Code:\u00a010848255'],
  ])('%s → %j', async (name, expected) => {
    expect(extractNewText(await bodyText(fixture(name)))).toBe(expected);
  });

  it('mime/12 derived: a command in the unmarked Outlook original is not found', async () => {
    const raw = derive(
      fixture('12-outlook-top-post-from-sent.eml'),
      "The manager's comment:\n",
      "The manager's comment:\n/embargo 2027-03-01\n",
    );
    const text = await bodyText(raw);
    expect(text).toContain('\n/embargo 2027-03-01\n');
    expect(extractNewText(text)).toBe('Hello');
    expect(parseCommands(extractNewText(text), OPTS)).toEqual({
      ok: true,
      codes: ['GI'],
      payload: { text: 'Hello' },
      lines: [],
    });
  });

  it('mime/12 derived: a command in the top-posted reply is found', async () => {
    const raw = derive(
      fixture('12-outlook-top-post-from-sent.eml'),
      'Hello\n\nFrom:',
      'Hello\n/valid\n\nFrom:',
    );
    const newText = extractNewText(await bodyText(raw));
    expect(newText).toBe('Hello\n/valid');
    expect(parseCommands(newText, OPTS)).toEqual({
      ok: true,
      codes: ['RV'],
      payload: { text: 'Hello' },
      lines: ['/valid'],
    });
  });

  it('mime/13 derived: a command in the >-quoted part is not found', async () => {
    const raw = derive(fixture('13-gmail-reply-on-wrote.eml'), '> Hi\n', '> /embargo 2027-03-01\n');
    const text = await bodyText(raw);
    expect(text).toContain('> /embargo 2027-03-01');
    expect(extractNewText(text)).toBe('Hello');
  });

  it('mime/13 derived: its HTML part alone (gmail_quote) gives a wrapped attribution and > lines', async () => {
    const raw = fixture('13-gmail-reply-on-wrote.eml').toString('latin1');
    const html = raw.slice(
      raw.indexOf('Hello<br><br><div class="gmail_quote">'),
      raw.indexOf('</blockquote>'),
    );
    const htmlOnly =
      'From: Heidi Reporter <xxx@gmail.com>\nSubject: Re: Test\nMIME-Version: 1.0\n' +
      'Content-Type: text/html; charset="us-ascii"\n\n' +
      html.replace('\nHi\n', '\n/embargo 2027-03-01<br>Hi\n') +
      '</blockquote></div>\n';
    const text = await bodyText(htmlOnly);
    // mailparser (html-to-text) wraps the attribution before "wrote:" and marks the quote.
    expect(text).toBe(
      'Hello\n\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Heidi Reporter <xxx@gmail.com [xxx@gmail.com]>\nwrote:\n\n\n> /embargo 2027-03-01\n> Hi',
    );
    expect(extractNewText(text)).toBe('Hello');
  });

  it('mime/16 derived: a command inside the forwarded message/rfc822 is not the forwarder’s', async () => {
    const raw = derive(
      fixture('16-forwarded-message-rfc822.eml'),
      'Log:\r\nmore verbose logging\r\n',
      'Log:\r\n/embargo 2027-03-01\r\nmore verbose logging\r\n',
    );
    const mail = await simpleParser(raw);
    expect(mail.attachments.map((a) => a.contentType)).toEqual(['message/rfc822']);
    expect(mail.attachments[0]?.content.toString('latin1')).toContain('\r\n/embargo 2027-03-01\r\n');
    expect(extractNewText(mail.text ?? '')).toBe('Test for parsing forwarded emails.');
  });

  it('mime/16 derived: a command after the signature delimiter is not found', async () => {
    const raw = derive(
      fixture('16-forwarded-message-rfc822.eml'),
      '-- \r\nAlice\r\n',
      '-- \r\nAlice\r\n/valid\r\n',
    );
    const text = await bodyText(raw);
    expect(text).toContain('/valid');
    expect(extractNewText(text)).toBe('Test for parsing forwarded emails.');
  });
});

describe('quote headers, separators and signatures', () => {
  const cases: [string, string, string][] = [
    ['no history at all', 'Hi all,\n\n/valid\nThanks', 'Hi all,\n\n/valid\nThanks'],
    ['CRLF and CR line breaks', 'a\r\nb\rc\r\n', 'a\nb\nc'],
    ['leading blank lines and trailing whitespace', '\n \n  Hello\n\n \n', '  Hello'],
    ['>-quoted lines anywhere', 'top\n> quoted\n>> deeper\n  > indented\nbottom', 'top\nbottom'],
    // Attributions followed by a >-quote: dropped, the text after the quote is new text.
    [
      'bottom-posted answer below a Gmail quote',
      'On Mon, Apr 2, 2012 at 6:26 PM, Heidi <h@r.example> wrote:\n\n> Please confirm.\n\nConfirmed.\n/valid',
      'Confirmed.\n/valid',
    ],
    [
      'interleaved answers',
      'On 2 Apr 2012, at 18:26, Heidi <h@r.example> wrote:\n> Valid?\nYes.\n/valid\n> Embargo?\n/embargo +30d',
      'Yes.\n/valid\n/embargo +30d',
    ],
    // Attributions followed by unmarked text or nothing: cut.
    [
      'Gmail attribution over an unmarked original',
      'Hello\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Heidi <h@r.example> wrote:\n/embargo 2027-03-01\nHi',
      'Hello',
    ],
    ['Thunderbird attribution at the end', 'Hello\nOn 4/2/12 6:26 PM, Heidi wrote:', 'Hello'],
    [
      'attribution wrapped over two lines',
      'Hello\nOn Mon, Apr 2, 2012 at 6:26 PM, Heidi Reporter <xxx@gmail.com>\nwrote:\n/valid',
      'Hello',
    ],
    [
      'attribution wrapped over three lines, quote below',
      'Hello\nOn Monday, April 2, 2012, 06:26:00 PM GMT+4,\nHeidi Reporter with a long name\n<xxx@example.com> wrote:\n> /valid\nafter',
      'Hello\nafter',
    ],
    [
      'German (Gmail)',
      'Hallo\n\nAm Mo., 2. Apr. 2012 um 18:26 Uhr schrieb Heidi Reporter <xxx@gmail.com>:\n/valid',
      'Hallo',
    ],
    ['German (Thunderbird)', 'Hallo\nAm 02.04.12 um 18:26 schrieb Heidi Reporter:\n/valid', 'Hallo'],
    [
      'French (Gmail, no-break space before the colon)',
      'Bonjour\nLe lun. 2 avr. 2012 à 18:26, Heidi Reporter <xxx@gmail.com> a écrit\u00a0:\n/valid',
      'Bonjour',
    ],
    [
      'French (Thunderbird, decomposed é)',
      'Bonjour\nLe 02/04/2012 18:26, Heidi Reporter a e\u0301crit :\n> /valid\nfin',
      'Bonjour\nfin',
    ],
    [
      'Spanish',
      'Hola\nEl lun, 2 abr 2012 a las 18:26, Heidi Reporter (<xxx@gmail.com>) escribió:\n/valid',
      'Hola',
    ],
    ['Dutch', 'Hoi\nOp ma 2 apr. 2012 om 18:26 schreef Heidi Reporter <xxx@gmail.com>:\n/valid', 'Hoi'],
    [
      'a sentence ending in "wrote:" without a date is text',
      'On this point, as Bob wrote:\nok',
      'On this point, as Bob wrote:\nok',
    ],
    // Outlook's unmarked header block.
    [
      'Outlook (English)',
      'Hello\n\nFrom: Bob <b@v.example>\nSent: Monday, April 2, 2012 6:26 PM\nTo: Heidi\nCc: Carol\nSubject: RE: x\n\n/valid',
      'Hello',
    ],
    [
      'Outlook on the web (underscores, Date:)',
      'Hello\n\n________________________________\nFrom: Bob <b@v.example>\nDate: Monday, April 2, 2012 6:26 PM\nTo: Heidi\nSubject: x\n/valid',
      'Hello',
    ],
    [
      'Outlook (German)',
      'Hallo\n\nVon: Bob <b@v.example>\nGesendet: Montag, 2. April 2012 18:26\nAn: Heidi\nBetreff: AW: x\n/valid',
      'Hallo',
    ],
    [
      'Outlook (French)',
      'Bonjour\n\nDe : Bob <b@v.example>\nEnvoyé : lundi 2 avril 2012 18:26\nÀ : Heidi\nObjet : RE: x\n/valid',
      'Bonjour',
    ],
    [
      'Outlook, bold labels from HTML',
      'Hello\n*From:* Bob <b@v.example>\n*Sent:* Monday\n*To:* Heidi\n*Subject:* x\n/valid',
      'Hello',
    ],
    [
      'a From: line without Sent:/Subject: is text',
      'From: the vendor advisory\n/valid\nSubject: later',
      'From: the vendor advisory\n/valid\nSubject: later',
    ],
    // Separators.
    ['-----Original Message-----', 'Hello\n-----Original Message-----\nFrom: x\n/valid', 'Hello'],
    ['Gmail forward', 'See below\n\n---------- Forwarded message ---------\nFrom: x\n/valid', 'See below'],
    ['----- Forwarded message -----', 'See below\n----- Forwarded message -----\n/valid', 'See below'],
    ['Thunderbird forward', 'See below\n-------- Forwarded Message --------\n/valid', 'See below'],
    ['Apple Mail forward', 'See below\n\nBegin forwarded message:\n\n/valid', 'See below'],
    ['German Outlook original', 'Hallo\n-----Ursprüngliche Nachricht-----\n/valid', 'Hallo'],
    ['French Outlook original', "Bonjour\n-----Message d'origine-----\n/valid", 'Bonjour'],
    // Signatures.
    ['signature "-- "', 'Hello\n/valid\n-- \nAlice\n/invalid', 'Hello\n/valid'],
    ['signature "--"', 'Hello\n--\nAlice\n/invalid', 'Hello'],
    ['"---" and "-- x" are text', 'a\n---\n-- x\nb', 'a\n---\n-- x\nb'],
    ['a quoted signature does not cut', '> -- \n> Bob\n/valid\nmore', '/valid\nmore'],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(extractNewText(input)).toBe(expected);
  });
});
