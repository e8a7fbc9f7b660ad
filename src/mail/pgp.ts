/**
 * OpenPGP in inbound mail. The bot holds no private key, so it reads no encrypted mail; it
 * does not verify signatures either, but it reads signed mail by its signed content only:
 *
 * - encrypted (quarantined `undecryptable`): `multipart/encrypted` (PGP/MIME, mime/05), the
 *   same mangled by Exchange into multipart/mixed with an `application/pgp-encrypted` part
 *   (mime/06), S/MIME enveloped data (these three come from the MIME walk), and an inline
 *   `-----BEGIN PGP MESSAGE-----` block in the text the sender wrote;
 * - PGP/MIME signed (mime/08): only the first part of the `multipart/signed` is the sender's;
 *   what a mailing list appended around it (a footer) is not read;
 * - inline signed (mime/07): only the text between the armour header and the signature is
 *   read, dash-escaping undone; the armour and signature lines are never commands.
 */

const SIGNED_BEGIN = /^-----BEGIN PGP SIGNED MESSAGE-----[ \t]*$/m;
const SIGNATURE_BEGIN = /^-----BEGIN PGP SIGNATURE-----[ \t]*$/m;
const MESSAGE_BEGIN = /^-----BEGIN PGP MESSAGE-----[ \t]*$/m;

/** The signed text of an inline-signed body, or the body unchanged. */
export function signedText(text: string): string {
  const begin = SIGNED_BEGIN.exec(text);
  if (!begin) return text;
  const afterArmour = text.slice(begin.index + begin[0].length).replace(/^\r?\n/, '');
  // Armour headers ("Hash: SHA512") up to the first empty line.
  const blank = /^(?:[A-Za-z-]+:[^\n]*\n)*\r?\n/.exec(afterArmour);
  const body = blank ? afterArmour.slice(blank[0].length) : afterArmour;
  const end = SIGNATURE_BEGIN.exec(body);
  const signed = end ? body.slice(0, end.index) : body;
  return signed.replace(/^- /gm, '');
}

/** The text holds an inline PGP-encrypted block. */
export function inlineEncrypted(text: string): boolean {
  return MESSAGE_BEGIN.test(text);
}
