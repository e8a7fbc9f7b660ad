/**
 * The part of a plain-text mail body that the sender wrote now (DESIGN.md §3: commands count
 * only "in the *new* text of a mail (not in quoted text, not in signatures)").
 *
 * Pure: a string in, a string out. The rules, applied line by line from the top:
 *
 * 1. A `>`-quoted line (optionally indented) is dropped; scanning goes on after it.
 * 2. Everything from the first of these lines on is history and is cut:
 *    - a signature delimiter: `-- ` (dash dash space) or `--` alone;
 *    - a separator of a quoted or forwarded original: `-----Original Message-----`,
 *      `---------- Forwarded message ---------`, `-------- Forwarded Message --------` and
 *      their German, French, Spanish and Dutch forms; Apple Mail's `Begin forwarded message:`
 *      (and its localisations);
 *    - Outlook's unmarked header block: a `From:` line whose next non-blank line is `Sent:` or
 *      `Date:`, with a `Subject:` line at most five lines further down (also `Von:/Gesendet:/
 *      Betreff:`, `De :/Envoyé :/Objet :`, `De:/Enviado:/Asunto:`, `Van:/Verzonden:/Onderwerp:`);
 *      a line of underscores right above it (Outlook on the web) goes with it.
 * 3. A reply attribution, `On <date>, <name> wrote:` (Gmail, Apple Mail, Thunderbird, Yahoo),
 *    `Am … schrieb …:`, `Le … a écrit :`, `El … escribió:`, `Op … schreef …:`, on one line or
 *    wrapped over up to three lines (clients and mailparser's HTML-to-text wrap long ones),
 *    and containing a digit (every client writes a date or time into it, which keeps a
 *    sentence such as "On this point, as Bob wrote:" from matching):
 *    - when the next non-blank line is `>`-quoted, the attribution line(s) are dropped and
 *      scanning goes on: the quote is dropped by rule 1, and text after it is new text (a
 *      bottom-posted or interleaved answer, usual on security mailing lists);
 *    - otherwise (the original follows unmarked, or nothing follows) the text is cut there.
 *
 * The result keeps the kept lines as they were (line breaks normalised to `\n`), without
 * leading blank lines and trailing whitespace.
 */

/** A `>`-quoted line. */
const QUOTED = /^\s*>/;

/** `-- ` (the RFC 3676 signature delimiter) or `--` alone. */
const SIGNATURE = /^-- ?$/;

/** Separator lines above a quoted or forwarded original, matched on the trimmed line. */
const SEPARATORS: readonly RegExp[] = [
  // Outlook, Thunderbird, Gmail and their localisations ("-----Original Message-----",
  // "---------- Forwarded message ---------", "-------- Forwarded Message --------").
  /^-{2,}\s*(?:original message|forwarded message|ursprüngliche nachricht|weitergeleitete nachricht|message d['’]origine|message transféré|mensaje original|mensaje reenviado|oorspronkelijk bericht|doorgestuurd bericht)\s*-{2,}$/iu,
  // Apple Mail.
  /^(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|inicio del mensaje reenviado|begin doorgestuurd bericht)\s*:$/iu,
];

/** Outlook's unmarked header block: labels, optionally bold-marked (`*From:*`) by HTML-to-text. */
const OUTLOOK_FROM = /^\*?(?:from|von|de|van)\s?:\*?(?:\s|$)/iu;
const OUTLOOK_SENT =
  /^\*?(?:sent|date|gesendet|datum|envoyé|enviado(?: el)?|fecha|verzonden)\s?:\*?(?:\s|$)/iu;
const OUTLOOK_SUBJECT = /^\*?(?:subject|betreff|objet|asunto|onderwerp)\s?:\*?(?:\s|$)/iu;
/** How far below the Sent/Date line the Subject line may be (To, Cc, …). */
const OUTLOOK_SUBJECT_WITHIN = 5;
/** Outlook on the web puts a line of underscores above the block. */
const UNDERSCORES = /^_{10,}$/;

/** Reply attributions, matched on the joined, whitespace-collapsed, NFC-normalised text. */
const ATTRIBUTIONS: readonly RegExp[] = [
  /^On\s.+\swrote:$/u,
  /^Am\s.+\sschrieb(?:\s.+)?:$/u,
  /^Le\s.+\sa\sécrit\s?:$/u,
  /^El\s.+\sescribió:$/u,
  /^Op\s.+\sschreef(?:\s.+)?:$/u,
];
const ATTRIBUTION_START = /^(?:On|Am|Le|El|Op)\s/u;
/** An attribution is wrapped over at most this many lines. */
const ATTRIBUTION_MAX_LINES = 3;
const ATTRIBUTION_MAX_CHARS = 300;

export function extractNewText(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (QUOTED.test(line)) continue;
    const trimmed = line.trim();
    if (SIGNATURE.test(line) || SEPARATORS.some((re) => re.test(trimmed))) break;
    if (isOutlookBlock(lines, i)) {
      dropTrailing(kept, (l) => UNDERSCORES.test(l.trim()));
      break;
    }
    const span = attributionSpan(lines, i);
    if (span > 0) {
      const next = nextNonBlank(lines, i + span);
      if (next !== undefined && QUOTED.test(next)) {
        i += span - 1;
        continue;
      }
      break;
    }
    kept.push(line);
  }
  return kept
    .join('\n')
    .replace(/^(?:[^\S\n]*\n)+/, '')
    .trimEnd();
}

function isOutlookBlock(lines: readonly string[], i: number): boolean {
  if (!OUTLOOK_FROM.test((lines[i] as string).trim())) return false;
  let j = i + 1;
  while (j < lines.length && (lines[j] as string).trim() === '') j++;
  if (j >= lines.length || !OUTLOOK_SENT.test((lines[j] as string).trim())) return false;
  for (let k = j + 1; k <= j + OUTLOOK_SUBJECT_WITHIN && k < lines.length; k++) {
    if (OUTLOOK_SUBJECT.test((lines[k] as string).trim())) return true;
  }
  return false;
}

/** How many lines the attribution starting at line i spans (0: none starts there). */
function attributionSpan(lines: readonly string[], i: number): number {
  const first = (lines[i] as string).trim();
  if (!ATTRIBUTION_START.test(first)) return 0;
  const parts: string[] = [];
  for (let n = 0; n < ATTRIBUTION_MAX_LINES && i + n < lines.length; n++) {
    const line = lines[i + n] as string;
    if (line.trim() === '' || (n > 0 && QUOTED.test(line))) return 0;
    parts.push(line.trim());
    const joined = parts.join(' ').normalize('NFC').replace(/\s+/gu, ' ');
    if (joined.length > ATTRIBUTION_MAX_CHARS) return 0;
    if (/\d/.test(joined) && ATTRIBUTIONS.some((re) => re.test(joined))) return n + 1;
  }
  return 0;
}

function nextNonBlank(lines: readonly string[], from: number): string | undefined {
  for (let j = from; j < lines.length; j++) {
    const line = lines[j] as string;
    if (line.trim() !== '') return line;
  }
  return undefined;
}

function dropTrailing(kept: string[], drop: (line: string) => boolean): void {
  while (kept.length > 0) {
    const last = kept[kept.length - 1] as string;
    if (last.trim() === '' || drop(last)) kept.pop();
    else break;
  }
}
