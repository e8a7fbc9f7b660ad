/**
 * `vultron-mail demo` (`npm run demo`): a whole disclosure case played on the embedded
 * default (SQLite file + a directory of .eml files, no mail servers), from the messages in
 * fixtures/demo/case-*.eml, through the same `init` / `ingest` / `tick` commands an admin
 * uses. Each step prints what came in, the case state, and the mails that went out.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import type { CaseSnapshot } from '../protocol/index.js';
import { openSqliteStore } from '../store/sqlite.js';

export interface DemoIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** One step of the demo: a message to ingest, or a clock tick. */
interface Step {
  title: string;
  now: string;
  file?: string;
}

const CASE_ID = 'VM-2026-0001';

const STEPS: Step[] = [
  {
    title: 'A finder reports a vulnerability by plain email',
    now: '2026-12-07T09:12:30Z',
    file: 'case-01-report.eml',
  },
  {
    title: 'The coordinator accepts it and invites vendor A',
    now: '2026-12-07T10:02:30Z',
    file: 'case-02-invite-vendor-a.eml',
  },
  {
    title: 'The coordinator invites vendor B',
    now: '2026-12-07T10:05:00Z',
    file: 'case-03-invite-vendor-b.eml',
  },
  {
    title: 'The finder proposes an embargo: a calendar invitation goes out',
    now: '2026-12-08T08:30:30Z',
    file: 'case-04-propose-embargo.eml',
  },
  {
    title: 'Vendor A clicks Accept in Outlook',
    now: '2026-12-08T13:15:05Z',
    file: 'case-05-vendor-a-outlook-accept.eml',
  },
  {
    title: 'Vendor B clicks Accept in Thunderbird: the quorum is reached',
    now: '2026-12-09T07:41:15Z',
    file: 'case-06-vendor-b-thunderbird-accept.eml',
  },
  { title: 'Vendor A has a fix ready', now: '2027-01-04T16:20:30Z', file: 'case-07-vendor-a-fix-ready.eml' },
  { title: 'The scheduler sends the 7-day reminder', now: '2027-01-13T23:59:59Z' },
  {
    title: 'The advisory is published early: the embargo ends for everyone',
    now: '2027-01-14T09:00:30Z',
    file: 'case-08-vendor-a-published.eml',
  },
];

type Cli = (argv: string[], io: DemoIo) => Promise<number>;

export async function runDemo(opts: {
  dir?: string;
  fixtures: string;
  cli: Cli;
  io: DemoIo;
}): Promise<number> {
  const { io } = opts;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'vultron-mail-demo-'));
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.json');
  const quiet: DemoIo = { stdout: () => undefined, stderr: io.stderr };
  const out = (s = '') => io.stdout(`${s}\n`);

  out(`vultron-mail demo: one disclosure case on the embedded default (SQLite + .eml files)`);
  out(`working directory: ${dir}`);
  if (!existsSync(config)) {
    const code = await opts.cli(['init', '--dir', dir], quiet);
    if (code !== 0) return code;
  }
  const outbox = join(dir, 'outbox');
  const icsDir = join(dir, 'ics');
  mkdirSync(icsDir, { recursive: true });
  const seen = new Set(existsSync(outbox) ? readdirSync(outbox) : []);

  for (const [i, step] of STEPS.entries()) {
    out();
    out(`── ${i + 1}. ${step.title}  (${step.now})`);
    const argv = step.file
      ? ['--config', config, '--now', step.now, 'ingest', join(opts.fixtures, step.file)]
      : ['--config', config, '--now', step.now, 'tick'];
    const lines: string[] = [];
    const code = await opts.cli(argv, { stdout: (s) => lines.push(s), stderr: io.stderr });
    if (step.file) out(`   in:  ${step.file}`);
    for (const l of lines.join('').trim().split('\n')) if (l) out(`   ${l.replace(/^.*\.eml: /, '')}`);
    if (code !== 0) {
      io.stderr(`demo: step ${i + 1} failed (exit ${code})\n`);
      return code;
    }
    const snapshot = readCase(dir);
    if (snapshot) out(`   case: ${summary(snapshot)}`);
    const fresh = readdirSync(outbox)
      .filter((f) => !seen.has(f))
      .sort();
    for (const f of fresh) {
      seen.add(f);
      const mail = await simpleParser(readFileSync(join(outbox, f)));
      const types = String(mail.headers.get('x-vultron-message-types') ?? '');
      const to = mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : '';
      const ics = mail.attachments.find((a) => a.filename === 'invite.ics');
      let icsNote = '';
      if (ics) {
        const name = f.replace(/\.eml$/, '.ics');
        writeFileSync(join(icsDir, name), ics.content);
        const method = /^METHOD:(\S+)/m.exec(ics.content.toString())?.[1] ?? '?';
        const status = /^STATUS:(\S+)/m.exec(ics.content.toString())?.[1] ?? '?';
        icsNote = ` + calendar ${method}/${status}`;
      }
      out(`   out: ${(to ?? '').padEnd(28)} [${types}]${icsNote}`);
    }
  }
  out();
  out(`The case:        node bin/vultron-mail.js --config ${config} case show ${CASE_ID}`);
  out(`Outgoing mail:   ${outbox}/*.eml`);
  out(`Calendar files:  ${icsDir}/*.ics`);
  return 0;
}

function readCase(dir: string): CaseSnapshot | undefined {
  const store = openSqliteStore(join(dir, 'vultron-mail.sqlite'));
  try {
    return store.getCase(CASE_ID);
  } finally {
    store.close();
  }
}

function summary(s: CaseSnapshot): string {
  const parts = s.participants
    .filter((p) => !p.roles.includes('coordinator'))
    .map((p) => `${p.email.split('@')[0]}:${p.rm}${p.vfd ? `/${p.vfd}` : ''}/${p.consent}`);
  const end = s.embargo.end ? ` ${s.em === 'EXITED' ? 'ended, was until' : 'until'} ${s.embargo.end}` : '';
  return `EM ${s.em}${end}, ${s.pxa}; ${parts.join(', ')}`;
}
