/**
 * `vultron-mail ingest` of every fixtures/mime file (the issue's "ingest of each fixture gives
 * the documented outcome"), through the CLI as an admin or an MTA pipe runs it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from './helpers.js';
import { COORDINATOR, NOW, jsonOf, sandbox } from './helpers.js';

const DIR = fileURLToPath(new URL('../../fixtures/mime/', import.meta.url));

/** SOURCES.md's reading of each file, as the one-line outcome `ingest` prints. */
const EXPECTED: Record<string, RegExp> = {
  '01-exchange-ooo-autoreply-no-auto-submitted.eml': /^auto-reply auto-reply subject/,
  '02-autoreply-rfc3834.eml': /^auto-reply Auto-Submitted: auto-replied$/,
  '03-postfix-dsn-multipart-report.eml':
    /^quarantined bounce-unmatched 5\.0\.0: rejected by the receiving side's policy/,
  '04-exchange2007-ndr.eml': /^quarantined bounce-unmatched 5\.1\.1: no such address/,
  '05-pgp-mime-encrypted.eml': /^quarantined undecryptable /,
  '06-pgp-mime-mangled-by-exchange.eml': /^quarantined undecryptable /,
  '07-inline-pgp-signed-latin1.eml': /^opened VM-2026-\d{4} new case/,
  '08-pgp-mime-signed-mailman-footer.eml': /^opened /,
  '09-no-charset-windows1252-8bit.eml': /^opened /,
  '10-wrongly-declared-utf8.eml': /^opened /,
  '11-badly-folded-headers.eml': /^opened /,
  '12-outlook-top-post-from-sent.eml': /^opened /,
  '13-gmail-reply-on-wrote.eml': /^opened /,
  '15-html-only.eml': /^opened /,
  '16-forwarded-message-rfc822.eml': /^opened /,
  '17-mime-torture-nested-rfc822.eml': /^opened /,
  '18-broken-base64-decoder-ended.eml': /^opened /,
  '19-bad-charset.eml': /^opened /,
  '20-rfc2047-encoded-attachment-name.eml': /^opened /,
  '22-long-subject-iso2022jp-encoded-words.eml': /^quarantined bounce-unmatched 5\.0\.0: no such address/,
};

let s: Sandbox;
beforeEach(async () => {
  s = await sandbox();
});
afterEach(() => s.cleanup());

describe('ingest of the fixtures', () => {
  it('each file gives its documented outcome; exit 0 (all handled)', async () => {
    const files = readdirSync(DIR).sort();
    expect(Object.keys(EXPECTED).sort()).toEqual(files);
    const r = await s.cli('--now', NOW, 'ingest', ...files.map((f) => `${DIR}${f}`));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(files.length);
    for (const [i, f] of files.entries()) {
      const line = lines[i] as string;
      const prefix = `${DIR}${f}: `;
      expect(line.startsWith(prefix), line).toBe(true);
      expect(line.slice(prefix.length), f).toMatch(EXPECTED[f] as RegExp);
    }
    const held = jsonOf<Array<{ reason: string }>>(await s.cli('quarantine', '--json'));
    expect(held.map((q) => q.reason).sort()).toEqual([
      'bounce-unmatched',
      'bounce-unmatched',
      'bounce-unmatched',
      'undecryptable',
      'undecryptable',
    ]);
    // The coordinator heard of the two undecryptable mails (bounces of nothing we sent are silent).
    const outbox = jsonOf<Array<{ to: string[]; types: string[]; caseId: string | null }>>(
      await s.cli('outbox', '--json'),
    );
    expect(outbox.filter((o) => o.caseId === null && o.to[0] === COORDINATOR)).toHaveLength(2);
  });

  it('one message from stdin, as an MTA pipe delivers it', async () => {
    const raw = readFileSync(`${DIR}05-pgp-mime-encrypted.eml`);
    const { run } = await import('./helpers.js');
    const r = await run(['--config', s.config, '--now', NOW, 'ingest'], { stdin: raw });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^stdin: quarantined undecryptable /);
  });
});
