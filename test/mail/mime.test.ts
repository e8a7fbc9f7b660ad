/**
 * The MIME walk (src/mail/mime.ts), the charset repair (src/mail/charset.ts) and the PGP
 * readers (src/mail/pgp.ts) on their own, on the real fixtures and small derived inputs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { charsetRepairs, repairedCharset } from '../../src/mail/charset.js';
import { resolveLimits, scanBounds } from '../../src/mail/limits.js';
import { SLICE_BYTES, sliced } from '../../src/bytes.js';
import { decodeQuotedPrintable, editForParsing, scanMime } from '../../src/mail/mime.js';
import { inlineEncrypted, signedText } from '../../src/mail/pgp.js';

const DIR = new URL('../../fixtures/mime/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, DIR));
const scan = (raw: Buffer) => scanMime(raw, scanBounds(resolveLimits()));

describe('scanMime', () => {
  it('walks every fixture without error, and a re-serialisation keeps every byte', async () => {
    for (const name of readdirSync(DIR)) {
      const raw = fixture(name);
      const s = await scan(raw);
      expect(s.error, name).toBeNull();
      expect(s.stopped, name).toBeNull();
      // An edit of a part that does not exist still goes through splitter → joiner.
      const copy = await editForParsing(raw, {
        charsets: new Map([[100_000, 'utf-8']]),
        asAttachment: new Set(),
      });
      expect(copy.equals(raw), name).toBe(true);
    }
  });

  it('mime/05 and 06 are encrypted; 08 has signed content; 17 has nested messages', async () => {
    expect((await scan(fixture('05-pgp-mime-encrypted.eml'))).encrypted).toBe('multipart/encrypted');
    expect((await scan(fixture('06-pgp-mime-mangled-by-exchange.eml'))).encrypted).toBe(
      'application/pgp-encrypted',
    );
    const signed = await scan(fixture('08-pgp-mime-signed-mailman-footer.eml'));
    expect(signed.encrypted).toBeNull();
    expect((await simpleParser(signed.signedContent as Buffer)).text).toBe(
      'Sundays are nothing without callaloo.\n\n',
    );
    const torture = await scan(fixture('17-mime-torture-nested-rfc822.eml'));
    expect(torture.embedded.length).toBeGreaterThan(5);
    // The signed message inside a nested message is not this sender's signature.
    expect(torture.signedContent).toBeNull();
    expect(torture.depth).toBe(6);
  });

  it('S/MIME enveloped data is encrypted, S/MIME signed data is not', async () => {
    const head = (smime: string) =>
      Buffer.from(
        `From: a@b.example\r\nContent-Type: application/pkcs7-mime; smime-type=${smime}; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n`,
      );
    expect((await scan(head('enveloped-data'))).encrypted).toBe('application/pkcs7-mime');
    expect((await scan(head('signed-data'))).encrypted).toBeNull();
  });

  it('counts nodes, depth and header bytes', async () => {
    const raw = Buffer.from(
      'From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n',
    );
    const s = await scan(raw);
    expect(s).toMatchObject({ nodes: 2, depth: 1, stopped: null });
    expect(s.headerBytes).toBe(
      'From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n'.length +
        'Content-Type: text/plain\r\n\r\n'.length,
    );
  });

  it('never throws, whatever the bytes', async () => {
    for (const raw of [
      '',
      '\r\n\r\n',
      '--',
      'Content-Type: multipart/mixed; boundary=""\r\n\r\n--\r\n',
      '\u0000'.repeat(100),
    ]) {
      const s = await scan(Buffer.from(raw));
      expect(s.nodes).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('decodeQuotedPrintable', () => {
  it.each([
    ['M=E4tterhorn', 'M\u00e4tterhorn'],
    ['soft=\r\nbreak', 'softbreak'],
    ['soft=\nbreak', 'softbreak'],
    ['bad =ZZ escape', 'bad =ZZ escape'],
    ['trailing =', 'trailing ='],
  ])('%j → %j', (input, expected) => {
    expect(decodeQuotedPrintable(Buffer.from(input, 'latin1')).toString('latin1')).toBe(expected);
  });
});

describe('repairedCharset', () => {
  const latin1 = Buffer.from('Aqu\u00ed', 'latin1');
  const utf8 = Buffer.from('Aqu\u00ed メール', 'utf8');
  it.each<[string | null, Buffer, string | null]>([
    [null, Buffer.from('ascii only'), null],
    [null, latin1, 'windows-1252'],
    [null, utf8, 'utf-8'],
    ['us-ascii', latin1, 'windows-1252'],
    ['bad-charset', latin1, 'windows-1252'],
    ['bad-charset', utf8, 'utf-8'],
    ['utf-8', utf8, null],
    ['utf-8', latin1, 'windows-1252'],
    ['windows-1252', latin1, null],
    ['iso-8859-1', utf8, 'utf-8'],
    ['iso-8859-1', latin1, null],
    ['shift_jis', Buffer.from([0x82, 0xa0]), null],
    ['cp932', Buffer.from([0x82, 0xa0]), null],
    ['koi8-r', utf8, null],
  ])('declared %s', (charset, decoded, expected) => {
    expect(repairedCharset({ charset, decoded })).toBe(expected);
  });

  it('mime/09, 10 and 19 get the charsets their bytes have', async () => {
    const fixes = async (name: string) => [...charsetRepairs((await scan(fixture(name))).leaves)];
    expect(await fixes('09-no-charset-windows1252-8bit.eml')).toEqual([[0, 'windows-1252']]);
    expect(await fixes('10-wrongly-declared-utf8.eml')).toEqual([[0, 'utf-8']]);
    expect(await fixes('19-bad-charset.eml')).toEqual([
      [1, 'windows-1252'],
      [2, 'utf-8'],
    ]);
    expect(await fixes('07-inline-pgp-signed-latin1.eml')).toEqual([]);
  });
});

describe('PGP', () => {
  it('signedText: the signed text only, dash-escaping undone', () => {
    const body = [
      'unsigned preamble',
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA256',
      '',
      '/valid',
      '- -- not a signature separator',
      '-----BEGIN PGP SIGNATURE-----',
      '',
      'iQEzBAEBCgAd',
      '-----END PGP SIGNATURE-----',
      'footer /invalid',
    ].join('\n');
    expect(signedText(body)).toBe('/valid\n-- not a signature separator\n');
    expect(signedText('no armour\n')).toBe('no armour\n');
  });

  it('inlineEncrypted: an armoured PGP message block', () => {
    expect(inlineEncrypted('hi\n-----BEGIN PGP MESSAGE-----\n\nhQEM\n-----END PGP MESSAGE-----\n')).toBe(
      true,
    );
    expect(inlineEncrypted('hi -----BEGIN PGP MESSAGE----- inline mention')).toBe(false);
    expect(inlineEncrypted('-----BEGIN PGP SIGNED MESSAGE-----\n')).toBe(false);
  });
});

describe('large messages are fed in slices', () => {
  // A message of several slices whose boundaries, lines and base64 fall across the slice edges.
  const attachment = Buffer.alloc(5 * SLICE_BYTES + 123);
  for (let i = 0; i < attachment.length; i++) attachment[i] = (i * 131 + 7) & 0xff;
  const text = `${'Line of the report text, long enough to wrap around.\r\n'.repeat(3000)}`;
  const raw = Buffer.from(
    [
      'From: Finder <finder@research.example>',
      'To: cvd@example.org',
      'Subject: Sliced',
      'Message-ID: <sliced@research.example>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text,
      '--b1',
      'Content-Type: application/octet-stream; name="core.bin"',
      'Content-Disposition: attachment; filename="core.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      attachment.toString('base64').replace(/.{76}/g, '$&\r\n'),
      '--b1--',
      '',
    ].join('\r\n'),
  );

  it('sliced() gives views of SLICE_BYTES that make up the message', async () => {
    const parts: Buffer[] = [];
    for await (const chunk of sliced(raw)) parts.push(chunk as Buffer);
    expect(parts.length).toBe(Math.ceil(raw.length / SLICE_BYTES));
    expect(parts.slice(0, -1).every((p) => p.length === SLICE_BYTES)).toBe(true);
    expect(Buffer.concat(parts).equals(raw)).toBe(true);
  });

  it('the walk, the re-serialisation and the parse see the whole message', async () => {
    expect(raw.length).toBeGreaterThan(8 * SLICE_BYTES);
    const s = await scan(raw);
    expect(s.error).toBeNull();
    expect(s.nodes).toBe(3);
    expect(s.leaves.map((l) => l.contentType)).toEqual(['text/plain', 'application/octet-stream']);
    expect(s.leaves[0]?.decoded?.toString('utf8')).toBe(`${text}\r\n`.slice(0, -2));
    const copy = await editForParsing(raw, { charsets: new Map([[1, 'utf-8']]), asAttachment: new Set() });
    expect(copy.equals(raw)).toBe(true);
    const parsed = await simpleParser(sliced(raw));
    expect(parsed.text).toBe((await simpleParser(raw)).text);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]?.content.equals(attachment)).toBe(true);
  });
});
