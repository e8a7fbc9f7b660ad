/**
 * The case tag in a subject (DESIGN.md §3 "Case identification", last resort after our
 * Message-IDs, calendar UIDs and plus-addresses). Robust to what clients and other ticket
 * systems do to subjects:
 *
 * - reply/forward prefixes in any language and any number (`Re:`, `AW:`, `SV:`, `Fwd:`,
 *   `RE: AW:`, `回复:` …) are irrelevant: the tag is searched anywhere;
 * - tags moved or joined by other trackers (`[VM-2026-0001] [RT #123]`,
 *   `Re: [RT #123] [vm-2026-0001]`) and any letter case;
 * - long subjects folded by clients (also the broken folders that split a word): whitespace
 *   around the hyphens and brackets of the tag is tolerated; full-width brackets too.
 *
 * The tag only selects a candidate case: authorisation is membership (src/mail/inbound.ts).
 */

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The case id (as written in the subject, without whitespace) of the first tag, if any. */
export function subjectCaseTag(subject: string, prefix: string): string | undefined {
  const re = new RegExp(
    `[[\\uFF3B]\\s*(${escapeRe(prefix)}\\s*-\\s*\\d{4}\\s*-\\s*\\d{4,})\\s*[\\]\\uFF3D]`,
    'i',
  );
  const m = re.exec(subject);
  return m ? (m[1] as string).replace(/\s+/g, '') : undefined;
}
