/**
 * Charset repair for inline text parts whose declared charset is missing, unknown or wrong
 * (fixtures mime/09, 10, 19). mailparser decodes what is declared and gives U+FFFD or
 * mojibake otherwise; we decide the charset from the bytes and let it decode again:
 *
 * - no charset, us-ascii, or a charset no decoder knows: UTF-8 when the bytes are valid UTF-8, else
 *   windows-1252 (the usual sender of undeclared 8-bit text);
 * - declared UTF-8 but the bytes are not valid UTF-8: windows-1252;
 * - declared iso-8859-1 / windows-1252 but the bytes are valid UTF-8 with
 *   multi-byte sequences: UTF-8 (Latin-1 text almost never forms valid UTF-8 by chance).
 *
 * Pure ASCII bodies and every other declared charset are left alone.
 */
import type { MimeLeaf } from './mime.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isAscii(bytes: Buffer): boolean {
  for (const b of bytes) if (b >= 0x80) return false;
  return true;
}

export function isValidUtf8(bytes: Buffer): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Code page families the parser (iconv-lite) decodes although WHATWG has no label for them. */
const OTHER_KNOWN =
  /^(x-)?(cp|ibm|ms|windows-|iso-?8859|iso-?2022|x-mac|mac|koi8|euc|shift|sjis|gb|big5|ks_c|tis|utf-?(16|32)|ucs)/i;

/**
 * The WHATWG name of a declared charset; `ascii` for US-ASCII (which the parser reads as
 * UTF-8), `other` for a label only the parser knows, null for one nobody knows.
 */
function knownCharset(label: string): string | null {
  if (/^(us-?)?ascii$|^7bit$|^ansi_x3\.4-1968$/i.test(label)) return 'ascii';
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return OTHER_KNOWN.test(label) ? 'other' : null;
  }
}

/** The charset a text part should be decoded with, when it differs from the declared one. */
export function repairedCharset(leaf: Pick<MimeLeaf, 'charset' | 'decoded'>): string | null {
  const bytes = leaf.decoded;
  if (!bytes || isAscii(bytes)) return null;
  const valid = isValidUtf8(bytes);
  const known = leaf.charset ? knownCharset(leaf.charset) : null;
  if (known === null || known === 'ascii') return valid ? 'utf-8' : 'windows-1252';
  if (known === 'utf-8') return valid ? null : 'windows-1252';
  // WHATWG maps iso-8859-1 and latin1 to windows-1252.
  if (known === 'windows-1252' && valid) return 'utf-8';
  return null;
}

/** Node index → repaired charset, for every inline text part that needs one. */
export function charsetRepairs(leaves: readonly MimeLeaf[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const leaf of leaves) {
    const charset = repairedCharset(leaf);
    if (charset) out.set(leaf.index, charset);
  }
  return out;
}
