/**
 * Outgoing mail bodies: one plain-text template per MailKind in `templates/<kind>.txt`, rendered
 * with Eta (https://eta.js.org). Plain text only: many people in this field read mail as text
 * and sign with PGP, so there is no HTML part and no auto-escaping (escaping would print
 * `&lt;` in a text mail).
 *
 * Admins may override any template, partials included, from a directory of their own
 * (`templatesDir`): a file with the same name there wins, the others come from the defaults.
 * Templates are code (Eta runs the JavaScript between `<%` and `%>`), so the directory must be
 * as trusted as the config; the data they receive is only ever interpolated, never evaluated.
 * Compiled templates are cached per directory: edits take effect on restart.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type {
  CalendarAction,
  EMState,
  MailKind,
  MessageCode,
  PEC,
  PXA,
  ProposalStatus,
  RMState,
  Role,
  TransitionNote,
} from '../protocol/index.js';

/** Every MailKind, in the order of src/protocol/types.ts; each has `templates/<kind>.txt`. */
export const MAIL_KINDS = [
  'ack',
  'notification',
  'error',
  'report',
  'invitation',
  'expiry',
  'reminder',
  'alert',
  'status',
  'help',
] as const satisfies readonly MailKind[];

/** The templates shipped with the package (`templates/`, two levels up from src/ or dist/). */
export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

/** Template and partial names: a plain word, so a name can never reach outside the directories. */
const TEMPLATE_NAME = /^[a-z][a-z0-9-]*$/;
const EXTENSION = '.txt';

/**
 * What a template sees as `it`. Everything is already decided: templates choose wording, not
 * content. Fields that the recipient may not see are null (see `title`).
 */
export interface TemplateData {
  kind: MailKind;
  caseId: string;
  /**
   * The case title, or null when the recipient has not (yet) received the report: an invited
   * participant gets only the invitation until it accepts (DESIGN.md §2 "Confidentiality").
   */
  title: string | null;
  recipient: { email: string; name: string | null };
  /** `caseAddress` is the plus-address of the case (`local+<case-id>@domain`), the Reply-To. */
  bot: { name: string; address: string; caseAddress: string };
  /** The protocol codes the mail stands for (X-Vultron-Message-Types). */
  types: MessageCode[];
  /** The same codes with their names: `EP (Embargo Proposal)`. */
  typeNames: string[];
  /** `by`: who caused it, the actor's address or `the case` (the bot itself). */
  transitions: (TransitionNote & { by: string })[];
  /** The sender's free text that goes with a notification. */
  note: string | null;
  error: { code: string; message: string; line?: string } | null;
  /** A relevant instant (latest acceptable end, expiry, ...), RFC 3339. */
  date: string | null;
  lines: string[];
  /** The embargo event the mail carries, with `summary` its one-line description. */
  calendar: (CalendarAction & { summary: string }) | null;
  /** Kind `report` only: the report forwarded. */
  report: { subject: string; text: string; attachments: { filename: string; size: number }[] } | null;
  /** Case state, for recipients who may read the case (null otherwise, like `title`). */
  status: {
    em: EMState;
    pxa: PXA;
    embargoEnd: string | null;
    proposals: { id: string; end: string; kind: 'proposal' | 'revision'; status: ProposalStatus }[];
    /** Engaged participants. */
    participants: number;
    you: { roles: Role[]; rm: RMState; consent: PEC } | null;
  } | null;
  /** Formats an RFC 3339 instant for people: `2027-03-01 23:59:59 UTC`. */
  utc(instant: string): string;
}

export interface Templates {
  /** The body for one mail: trailing spaces and runs of blank lines removed, one final newline. */
  render(kind: MailKind, data: TemplateData): string;
}

class LayeredEta extends Eta {
  constructor(private readonly dirs: readonly string[]) {
    super({
      views: DEFAULT_TEMPLATES_DIR,
      defaultExtension: EXTENSION,
      autoEscape: false,
      // No automatic trimming: a line ending in an interpolation keeps its newline; control lines
      // end in `-%>`, which drops theirs.
      autoTrim: false,
      cache: true,
    });
  }

  /** Where each name was found (templates are compiled once and cached too: `cache: true`). */
  private readonly found = new Map<string, string>();

  /** The first directory that has the file wins: the admin's, then the defaults. */
  override resolvePath = (name: string): string => {
    const known = this.found.get(name);
    if (known !== undefined) return known;
    if (!TEMPLATE_NAME.test(name)) throw new Error(`template name not allowed: ${JSON.stringify(name)}`);
    for (const dir of this.dirs) {
      const file = join(dir, name + EXTENSION);
      if (existsSync(file)) {
        this.found.set(name, file);
        return file;
      }
    }
    throw new Error(`no template ${name}${EXTENSION} in ${this.dirs.join(' or ')}`);
  };
}

/** Trailing blanks go (except in the signature separator `-- `), blank runs shrink to one line. */
function tidy(text: string): string {
  const lines = text.split(/\r\n?|\n/).map((line) => (line === '-- ' ? line : line.trimEnd()));
  return (
    lines
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  );
}

const REPORT_MARKER = '\u0000report-text\u0000';
const REPORT_PLACE = new RegExp(`${REPORT_MARKER}\n?`, 'g');
const cache = new Map<string, Templates>();

/** Templates from `templatesDir` (when given) over the defaults. Instances are shared per directory. */
export function loadTemplates(templatesDir?: string | null): Templates {
  const key = templatesDir ?? '';
  let templates = cache.get(key);
  if (!templates) {
    const eta = new LayeredEta(
      templatesDir ? [templatesDir, DEFAULT_TEMPLATES_DIR] : [DEFAULT_TEMPLATES_DIR],
    );
    templates = {
      render(kind, data) {
        if (!data.report) return tidy(eta.render(kind, data));
        // The report goes out exactly as written: tidy() the template around it, not the report.
        // A report that ends its last line takes the place of the template's line end too.
        const { text } = data.report;
        const out = tidy(eta.render(kind, { ...data, report: { ...data.report, text: REPORT_MARKER } }));
        return out.replace(REPORT_PLACE, (place) =>
          place.endsWith('\n') && !text.endsWith('\n') ? `${text}\n` : text,
        );
      },
    };
    cache.set(key, templates);
  }
  return templates;
}
