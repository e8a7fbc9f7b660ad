/**
 * Plain-text templates: one per MailKind, no escaping, admin overrides from a directory.
 */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { templateData } from '../../src/outbound/compose.js';
import { DEFAULT_TEMPLATES_DIR, MAIL_KINDS, loadTemplates } from '../../src/outbound/templates.js';
import type { MailKind } from '../../src/protocol/index.js';
import { EFFECTS, INVITEE, REPORT_TEXT, TITLE, context } from './fixtures.js';

function render(kind: MailKind, templatesDir: string | null = null, ctx = context()): string {
  return loadTemplates(templatesDir).render(kind, templateData(EFFECTS[kind], ctx));
}

describe('templates', () => {
  it('ships exactly one template per MailKind, plus the partials they include', async () => {
    const files = (await readdir(DEFAULT_TEMPLATES_DIR)).filter((f) => f.endsWith('.txt')).sort();
    expect(files).toEqual(
      [...MAIL_KINDS.map((k) => `${k}.txt`), 'answer.txt', 'commands.txt', 'footer.txt'].sort(),
    );
  });

  it.each(MAIL_KINDS)('renders %s as tidy plain text with the signature and no template debris', (kind) => {
    const text = render(kind);
    expect(text).toContain('VM-2026-0001');
    expect(text).toContain('\n-- \nVultron CVD bot, case VM-2026-0001\n');
    expect(text).not.toMatch(/undefined|null|\[object Object\]|<%|%>/);
    expect(text).not.toMatch(/\n{3}/);
    expect(text).not.toMatch(/[ \t]\n(?<!^-- \n)/m);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.startsWith('\n')).toBe(false);
  });

  it('does not escape: text mail shows <, & and quotes as they are', () => {
    expect(render('notification')).toContain('We published <today> & will "link" the fix.');
  });

  it('tells the recipient what to do next', () => {
    expect(render('invitation')).toContain(
      'reply with one of these on a line of its own:\n  /embargo accept E1\n  /embargo reject E1\n',
    );
    expect(render('error')).toContain('/embargo accept [id]');
    expect(render('error')).toContain('The line in question:\n  /embargo +200d\n');
    expect(render('error')).toContain('The latest acceptable date is 2026-08-02 23:59:59 UTC.');
    expect(render('help')).toContain('/embargo terminate <reason>');
    expect(render('report')).toContain('/valid, /invalid, /accept or /defer');
  });

  it('puts the report text in the body exactly as written, and lists the attachments', () => {
    const ctx = context();
    const report = { ...ctx.report!, text: 'keep   \n\n\n\ntrailing blanks and runs\t\n' };
    const text = render('report', null, { ...ctx, report });
    expect(text).toContain(
      '----- report -----\nkeep   \n\n\n\ntrailing blanks and runs\t\n----- end of report -----',
    );
    expect(text).toContain('  - poc.bin (7 bytes)\n  - notes.txt (20 bytes)\n');
    expect(render('report')).toContain(REPORT_TEXT);
  });

  it('withholds the title and case state from an invited participant that has no report', () => {
    expect(EFFECTS.invitation.to).toBe(INVITEE);
    expect(render('invitation')).not.toContain(TITLE);
    const status = loadTemplates().render(
      'status',
      templateData({ ...EFFECTS.status, to: INVITEE }, context()),
    );
    expect(status).not.toContain(TITLE);
    expect(status).not.toContain('ACTIVE');
    expect(status).toContain('shown once you have accepted its embargo');
    expect(render('notification')).toContain(TITLE);
  });

  describe('admin overrides (templatesDir)', () => {
    it('takes a file of the same name from templatesDir, and the rest from the defaults', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vm-templates-'));
      await writeFile(join(dir, 'ack.txt'), 'Thanks, <%= it.recipient.name %>: <%= it.types.join("+") %>\n');
      expect(render('ack', dir)).toBe('Thanks, Fin Der: CK+ET\n');
      expect(render('help', dir)).toBe(render('help'));
    });

    it('also overrides a partial, in every template that includes it', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vm-templates-'));
      await writeFile(join(dir, 'footer.txt'), '-- \nCERT/XY, +1 555 0100\n');
      expect(render('ack', dir).endsWith('\n-- \nCERT/XY, +1 555 0100\n')).toBe(true);
      expect(render('status', dir).endsWith('\n-- \nCERT/XY, +1 555 0100\n')).toBe(true);
    });

    it('refuses a partial name that could reach outside the template directories', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vm-templates-'));
      await writeFile(join(dir, 'help.txt'), `<%~ include('../../etc/passwd', it) %>`);
      expect(() => render('help', dir)).toThrow(/template name not allowed/);
    });
  });
});
