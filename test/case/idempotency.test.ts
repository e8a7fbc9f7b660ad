/**
 * Never applied twice, never lost (DESIGN.md §2 "Duplicates", §6): the inbound ledger keyed by
 * Message-ID and the content hash (the raw bytes without trace headers), and a crash between the
 * commit and the delivery of the outbox (a SIGKILLed child running the built CLI).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../cli/helpers.js';
import { COORDINATOR, jsonOf, sandbox } from '../cli/helpers.js';
import type { OutboxJson } from '../helpers/mail.js';
import { eml, emlPath, outboxRows, writeMail } from '../helpers/mail.js';
import { DEMO } from '../helpers/scenario.js';

const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const PRELOAD = fileURLToPath(new URL('../helpers/block-outbox-writes.mjs', import.meta.url));

const CASE = 'VM-2026-0001';
const REPORT = `${DEMO}01-report.eml`;
const NOW = '2026-12-07T09:12:00Z';
const LATER = '2026-12-07T10:00:00Z';
const REPORTER = 'alice@finder.example';

let s: Sandbox;
beforeEach(async () => {
  s = await sandbox();
});
afterEach(() => s.cleanup());

/** Everything a second delivery of a mail must leave alone. */
async function state() {
  const db = new Database(s.db, { readonly: true });
  try {
    return {
      case: jsonOf(await s.cli('case', 'show', CASE, '--json')),
      cases: jsonOf(await s.cli('cases', '--json')),
      outbox: await outboxRows(s),
      files: readdirSync(s.outbox).sort(),
      quarantine: jsonOf(await s.cli('quarantine', '--json')),
      ledger: db.prepare('SELECT * FROM inbound_ledger ORDER BY message_id').all(),
      raw: db.prepare('SELECT count(*) AS n FROM raw_messages').get(),
      reports: db.prepare('SELECT count(*) AS n FROM reports').get(),
      timers: db.prepare('SELECT * FROM timers ORDER BY case_id, id').all(),
    };
  } finally {
    db.close();
  }
}

function ledger(): Array<{ message_id: string; outcome: string; case_id: string | null }> {
  const db = new Database(s.db, { readonly: true });
  try {
    return db
      .prepare('SELECT message_id, outcome, case_id FROM inbound_ledger ORDER BY at, message_id')
      .all() as Array<{ message_id: string; outcome: string; case_id: string | null }>;
  } finally {
    db.close();
  }
}

/** The reporter's follow-up in the case, with the trace headers an MTA adds in front. */
function followUp(
  trace: string[],
  body = 'Here is the proof of concept.\n',
  subject = `Re: [${CASE}] PoC`,
): string {
  return [
    ...trace,
    eml({
      from: REPORTER,
      name: 'Alice Finder',
      to: `cvd+${CASE}@example.org`,
      subject,
      messageId: '<followup-1@finder.example>',
      date: LATER,
      body,
    })
      // eml() writes its own Return-Path and Received: keep them out, the test sets the trace.
      .split('\r\n')
      .filter((l) => !/^(Return-Path|Received):/i.test(l))
      .join('\r\n'),
  ].join('\r\n');
}

const TRACE = [
  'Return-Path: <alice@finder.example>',
  'Delivered-To: cvd@example.org',
  'Received: from mx.finder.example (mx.finder.example [192.0.2.10])',
  '\tby mx.example.org (Postfix) with ESMTPS id 4F1A2B3C4D',
  '\tfor <cvd+VM-2026-0001@example.org>; Mon, 7 Dec 2026 10:00:00 +0000 (UTC)',
];
const OTHER_TRACE = [
  'Return-Path: <bounces+alice=finder.example@relay.example>',
  'Delivered-To: cvd+VM-2026-0001@example.org',
  'X-Original-To: cvd+VM-2026-0001@example.org',
  'Authentication-Results: mx.example.org; dkim=pass header.d=finder.example; dmarc=pass',
  'ARC-Seal: i=1; a=rsa-sha256; t=1796637600; cv=none; d=relay.example; s=arc; b=AbCdEf==',
  'Received: from relay.example (relay.example [198.51.100.7]) by mx.example.org; Mon, 7 Dec 2026 10:00:03 +0000',
  'Received: from mx.finder.example by relay.example; Mon, 7 Dec 2026 10:00:01 +0000',
];

describe('the same mail twice', () => {
  it('a second ingest of the same file is a logged no-op: case, outbox, ledger unchanged; exit 0', async () => {
    expect(await s.cli('--now', NOW, 'ingest', REPORT)).toEqual({
      code: 0,
      stdout: `${REPORT}: opened ${CASE} new case ${CASE}\n`,
      stderr: '',
    });
    const file = writeMail(s, 'followup.eml', followUp(TRACE));
    expect(await s.cli('--now', LATER, 'ingest', file)).toEqual({
      code: 0,
      stdout: `${file}: applied ${CASE} GI\n`,
      stderr: '',
    });
    const before = await state();
    expect(before.outbox).toHaveLength(4); // RK + report, then GK + the GI relayed to the coordinator

    // The report again (it must not open a second case), then the follow-up again, a day later.
    const again = await s.cli('--now', '2026-12-08T10:00:00Z', 'ingest', REPORT, file);
    expect(again).toEqual({
      code: 0,
      stdout: `${REPORT}: duplicate ${CASE} already applied\n${file}: duplicate ${CASE} already applied\n`,
      stderr: '',
    });
    expect(await state()).toEqual(before);
    expect(ledger()).toEqual([
      { message_id: '<report-1@finder.example>', outcome: 'applied', case_id: CASE },
      { message_id: '<followup-1@finder.example>', outcome: 'applied', case_id: CASE },
    ]);
  });

  it('the same content under other trace headers (Received, Return-Path, Delivered-To, Authentication-Results, ARC-*) is a duplicate, not a quarantine', async () => {
    await s.cli('--now', NOW, 'ingest', REPORT);
    await s.cli('--now', LATER, 'ingest', writeMail(s, 'first.eml', followUp(TRACE)));
    const before = await state();
    const relayed = writeMail(s, 'relayed.eml', followUp(OTHER_TRACE));
    const bare = writeMail(s, 'bare.eml', followUp([]));
    expect(await s.cli('--now', '2026-12-07T11:00:00Z', 'ingest', relayed, bare)).toEqual({
      code: 0,
      stdout: `${relayed}: duplicate ${CASE} already applied\n${bare}: duplicate ${CASE} already applied\n`,
      stderr: '',
    });
    expect(await state()).toEqual(before);
  });

  it('the same Message-ID with other content (the body, or a header that is not a trace header) is quarantined duplicate-message-id; nothing applied', async () => {
    await s.cli('--now', NOW, 'ingest', REPORT);
    await s.cli('--now', LATER, 'ingest', writeMail(s, 'first.eml', followUp(TRACE)));
    const before = await state();

    const otherBody = writeMail(
      s,
      'other-body.eml',
      followUp(TRACE, '/embargo terminate we changed our mind\n'),
    );
    const otherSubject = writeMail(
      s,
      'other-subject.eml',
      followUp(TRACE, undefined, `Re: [${CASE}] PoC (v2)`),
    );
    const r = await s.cli('--now', '2026-12-07T11:00:00Z', 'ingest', otherBody, otherSubject);
    expect(r).toEqual({
      code: 0,
      stdout:
        `${otherBody}: quarantined duplicate-message-id same Message-ID, different content\n` +
        `${otherSubject}: quarantined duplicate-message-id same Message-ID, different content\n`,
      stderr: '',
    });
    const after = await state();
    expect(after.quarantine).toEqual([
      {
        id: 1,
        messageId: '<followup-1@finder.example>',
        from: REPORTER,
        reason: 'duplicate-message-id',
        at: '2026-12-07T11:00:00Z',
      },
      {
        id: 2,
        messageId: '<followup-1@finder.example>',
        from: REPORTER,
        reason: 'duplicate-message-id',
        at: '2026-12-07T11:00:00Z',
      },
    ]);
    // The case, the ledger and the timers are as before; only the held messages are new, and the
    // coordinator's alert of each entry (the sender is not told of this reason).
    const alerts = after.outbox.slice(before.outbox.length);
    expect(alerts).toEqual(
      [1, 2].map((k): OutboxJson => ({
        id: before.outbox.length + k,
        caseId: null,
        to: [COORDINATOR],
        subject: `Quarantined mail: duplicate-message-id from ${REPORTER}`,
        types: ['GI'],
        status: 'sent',
        attempts: 1,
        messageId: expect.stringMatching(/^<quarantine\.[0-9a-f]{16}@example\.org>$/) as string,
        calendarMethod: null,
      })),
    );
    expect({
      ...after,
      quarantine: before.quarantine,
      raw: before.raw,
      outbox: after.outbox.slice(0, before.outbox.length),
      files: before.files,
    }).toEqual(before);
    expect(after.files).toEqual(
      [...before.files, ...alerts.map((r) => `${r.messageId.slice(1, -1)}.eml`)].sort(),
    );
    expect(after.raw).toEqual({ n: (before.raw as { n: number }).n + 2 });
  });

  it('ingest exits 0 for applied, duplicate and quarantined messages, alone and together', async () => {
    const loop = writeMail(
      s,
      'loop.eml',
      eml({
        from: 'someone@example.net',
        subject: 'ping',
        messageId: '<loop-1@example.net>',
        date: NOW,
        headers: ['X-Vultron-Loop: cvd@example.org'],
        body: 'hello\n',
      }),
    );
    expect(await s.cli('--now', NOW, 'ingest', REPORT)).toMatchObject({ code: 0 });
    expect(await s.cli('--now', NOW, 'ingest', REPORT)).toEqual({
      code: 0,
      stdout: `${REPORT}: duplicate ${CASE} already applied\n`,
      stderr: '',
    });
    expect(await s.cli('--now', NOW, 'ingest', loop)).toEqual({
      code: 0,
      stdout: `${loop}: quarantined loop our own loop header\n`,
      stderr: '',
    });
    const follow = writeMail(s, 'followup.eml', followUp(TRACE));
    expect(await s.cli('--now', LATER, 'ingest', follow, REPORT, loop)).toEqual({
      code: 0,
      stdout:
        `${follow}: applied ${CASE} GI\n` +
        `${REPORT}: duplicate ${CASE} already applied\n` +
        `${loop}: duplicate already quarantined\n`,
      stderr: '',
    });
  });
});

describe('a crash between the commit and the delivery (kill -9)', () => {
  beforeAll(() => {
    // The child runs the built CLI (bin/vultron-mail.js → dist/).
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT_DIR, stdio: 'pipe' });
  }, 120_000);

  it('the committed rows are sent after the restart, each with its pre-assigned Message-ID, exactly once', async () => {
    const child = spawn(
      process.execPath,
      ['--import', PRELOAD, 'bin/vultron-mail.js', '--config', s.config, '--now', NOW, 'ingest', REPORT],
      {
        cwd: ROOT_DIR,
        env: { PATH: process.env['PATH'] ?? '', VULTRON_TEST_BLOCK_WRITES_IN: s.outbox },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.on('exit', (code, signal) => done({ code, signal })),
    );

    // Wait for the commit: the outbox rows exist (read-only, as another process would).
    let committed: Array<{ id: number; message_id: string; status: string; attempts: number }> = [];
    const deadline = Date.now() + 15_000;
    while (committed.length < 2) {
      if (Date.now() > deadline) throw new Error(`no outbox rows after 15 s; child stderr: ${stderr}`);
      if (child.exitCode !== null) throw new Error(`the child exited (${child.exitCode}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
      try {
        const db = new Database(s.db, { readonly: true, fileMustExist: true });
        try {
          committed = db
            .prepare('SELECT id, message_id, status, attempts FROM outbox ORDER BY id')
            .all() as typeof committed;
        } finally {
          db.close();
        }
      } catch {
        committed = []; // the schema is being created, or the database is busy: poll again
      }
    }
    child.kill('SIGKILL');
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });

    // Nothing was delivered before the crash; both rows are committed, pending, untried.
    expect(readdirSync(s.outbox)).toEqual([]);
    expect(committed.map((r) => ({ status: r.status, attempts: r.attempts }))).toEqual([
      { status: 'pending', attempts: 0 },
      { status: 'pending', attempts: 0 },
    ]);

    // Restart: the outbox sender delivers the committed rows.
    expect(await s.cli('--now', '2026-12-07T09:13:00Z', 'send')).toEqual({
      code: 0,
      stdout: 'sent 2, failed 0\n',
      stderr: '',
    });
    const rows = await outboxRows(s);
    expect(
      rows.map((r) => ({ id: r.id, messageId: r.messageId, status: r.status, attempts: r.attempts })),
    ).toEqual(committed.map((r) => ({ id: r.id, messageId: r.message_id, status: 'sent', attempts: 1 })));
    for (const row of committed) {
      const parsed = await simpleParser(readFileSync(emlPath(s, row.message_id)));
      expect(parsed.messageId).toBe(row.message_id);
    }
    const files = readdirSync(s.outbox).sort();
    expect(files).toEqual(committed.map((r) => emlPath(s, r.message_id).slice(s.outbox.length + 1)).sort());

    // Sending again writes nothing; the mail itself is a duplicate (the ledger was committed too).
    expect(await s.cli('--now', '2026-12-07T09:14:00Z', 'send')).toEqual({
      code: 0,
      stdout: 'sent 0, failed 0\n',
      stderr: '',
    });
    expect(readdirSync(s.outbox).sort()).toEqual(files);
    expect(await s.cli('--now', '2026-12-07T09:15:00Z', 'ingest', REPORT)).toEqual({
      code: 0,
      stdout: `${REPORT}: duplicate ${CASE} already applied\n`,
      stderr: '',
    });
    expect(readdirSync(s.outbox).sort()).toEqual(files);
    expect(jsonOf<unknown[]>(await s.cli('cases', '--json'))).toHaveLength(1);
  }, 30_000);
});
