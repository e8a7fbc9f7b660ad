/**
 * Sender authentication from our own MTA's verdict (RFC 8601, DESIGN.md §3 "Sender
 * authentication"). Only the topmost `Authentication-Results` field whose authserv-id is
 * `security.trustedAuthservId` counts: our MTA prepends it, and fields below it (added by
 * the sender or by hops before ours) are ignored whatever they claim.
 *
 * It authenticates the From domain when it shows `dmarc=pass` (for that header.from, when
 * named), or else, unless DMARC explicitly failed, a `dkim=pass` whose signing domain is
 * aligned with the From domain (equal, or one a subdomain of the other: relaxed alignment).
 * Each result is read as `method=result` at the start of its own `;`-separated part, with
 * comments removed, so text inside property values (e.g. a crafted smtp.mailfrom) never
 * counts as a result.
 */
import type { ParsedMail } from 'mailparser';
import { allHeaderTexts } from './headers.js';

export interface AuthResult {
  method: string;
  result: string;
  props: Record<string, string>;
}

export interface AuthVerdict {
  ok: boolean;
  detail: string;
}

/** Removes RFC 5322 comments (nested parentheses included); quoted strings are kept. */
function stripComments(value: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i += 1) {
    const c = value[i] as string;
    if (c === '\\' && i + 1 < value.length) {
      if (depth === 0) out += c + value[i + 1];
      i += 1;
    } else if (quoted) {
      out += c;
      if (c === '"') quoted = false;
    } else if (c === '"' && depth === 0) {
      quoted = true;
      out += c;
    } else if (c === '(') {
      depth += 1;
    } else if (c === ')' && depth > 0) {
      depth -= 1;
    } else if (depth === 0) {
      out += c;
    }
  }
  return out;
}

/** Splits at the `;` that are not inside a quoted string. */
function splitResinfo(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i += 1) {
    const c = value[i] as string;
    if (c === '\\' && quoted && i + 1 < value.length) {
      current += c + value[i + 1];
      i += 1;
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (c === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** Splits one Authentication-Results value into its authserv-id and results. */
export function parseAuthResults(value: string): { authservId: string; results: AuthResult[] } {
  const parts = splitResinfo(stripComments(value));
  const authservId = (parts[0] ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  const results: AuthResult[] = [];
  for (const part of parts.slice(1)) {
    const m = /^\s*([a-z0-9_-]+)(?:\/[0-9]+)?\s*=\s*([a-z]+)\b(.*)$/is.exec(part);
    if (!m) continue;
    const props: Record<string, string> = {};
    for (const p of (m[3] as string).matchAll(/([a-z0-9_-]+\.[a-z0-9_-]+)\s*=\s*("[^"]*"|[^\s;]+)/gi)) {
      props[(p[1] as string).toLowerCase()] = (p[2] as string).replace(/^"|"$/g, '');
    }
    results.push({ method: (m[1] as string).toLowerCase(), result: (m[2] as string).toLowerCase(), props });
  }
  return { authservId, results };
}

function domainOf(value: string): string {
  return value.slice(value.lastIndexOf('@') + 1).toLowerCase();
}

/** Relaxed alignment, without a public-suffix list: equal, or one is a subdomain of the other. */
export function aligned(fromDomain: string, signingDomain: string): boolean {
  const a = fromDomain.toLowerCase();
  const b = signingDomain.toLowerCase();
  if (!b.includes('.') || !a.includes('.')) return a === b && a !== '';
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}

/** The verdict of the topmost Authentication-Results of `authservId` on the From domain. */
export function authVerdict(
  parsed: Pick<ParsedMail, 'headerLines'>,
  authservId: string,
  fromDomain: string,
): AuthVerdict {
  const ours = allHeaderTexts(parsed, 'authentication-results')
    .map(parseAuthResults)
    .find((r) => r.authservId === authservId.toLowerCase());
  if (!ours) return { ok: false, detail: `no Authentication-Results from ${authservId}` };
  const from = fromDomain.toLowerCase();
  const dmarc = ours.results.filter((r) => r.method === 'dmarc');
  const dmarcPass = dmarc.find(
    (r) => r.result === 'pass' && (!r.props['header.from'] || domainOf(r.props['header.from']) === from),
  );
  if (dmarcPass) return { ok: true, detail: 'dmarc=pass' };
  if (dmarc.some((r) => r.result === 'fail')) return { ok: false, detail: 'dmarc=fail' };
  const dkim = ours.results.find((r) => {
    if (r.method !== 'dkim' || r.result !== 'pass') return false;
    const d = r.props['header.d'] ?? (r.props['header.i'] ? domainOf(r.props['header.i']) : '');
    return d !== '' && aligned(from, d);
  });
  if (dkim)
    return { ok: true, detail: `dkim=pass aligned (${dkim.props['header.d'] ?? dkim.props['header.i']})` };
  const shown = ours.results.map((r) => `${r.method}=${r.result}`).join(' ') || 'none';
  return { ok: false, detail: `no DMARC pass or aligned DKIM pass (${shown})` };
}

/** The topmost Authentication-Results of our MTA shows DMARC (or aligned DKIM) pass. */
export function senderAuthenticated(
  parsed: Pick<ParsedMail, 'headerLines'>,
  authservId: string,
  fromDomain: string,
): boolean {
  return authVerdict(parsed, authservId, fromDomain).ok;
}
