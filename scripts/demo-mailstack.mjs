// `npm run demo:mailstack`: the demo case of `npm run demo`, played through real mail servers.
// A throwaway Dovecot + Postfix on loopback (scripts/mailstack.sh; root installs the Debian
// packages when missing) holds a mailbox for the bot and for every participant. Each message of
// fixtures/demo/case-*.eml is put into the bot's INBOX; `vultron-mail run --once` reads it
// over IMAP, applies it and sends its mails through Postfix; the script then lists what
// arrived in each participant's mailbox. Nothing can leave the machine (the stack delivers
// everything locally).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImapFlow } from 'imapflow';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin', 'vultron-mail.js');
const STACK = join(ROOT, 'scripts', 'mailstack.sh');
const FIXTURES = join(ROOT, 'fixtures', 'demo');
const OFFSET = Number(process.env.DEMO_MAILSTACK_OFFSET ?? 40);
const ports = { imap: 1143 + OFFSET, imaps: 1993 + OFFSET, smtp: 2525 + OFFSET };

const BOT = 'cvd@example.org';
const PEOPLE = {
  finder: 'alice@finder.example',
  coordinator: 'coordinator@example.org',
  vendorA: 'psirt@vendor-a.example',
  vendorB: 'security@vendor-b.example',
};
const PASS = 'demo-password';
// The arrival times of `npm run demo` (the mails and their calendar answers name VM-2026-0001).
const STEPS = [
  [
    'case-01-report.eml',
    PEOPLE.finder,
    '2026-12-07T09:12:30Z',
    'A finder reports a vulnerability by plain email',
  ],
  [
    'case-02-invite-vendor-a.eml',
    PEOPLE.coordinator,
    '2026-12-07T10:02:30Z',
    'The coordinator invites vendor A',
  ],
  [
    'case-03-invite-vendor-b.eml',
    PEOPLE.coordinator,
    '2026-12-07T10:05:00Z',
    'The coordinator invites vendor B',
  ],
  ['case-04-propose-embargo.eml', PEOPLE.finder, '2026-12-08T08:30:30Z', 'The finder proposes an embargo'],
  [
    'case-05-vendor-a-outlook-accept.eml',
    PEOPLE.vendorA,
    '2026-12-08T13:15:05Z',
    'Vendor A accepts in Outlook',
  ],
  [
    'case-06-vendor-b-thunderbird-accept.eml',
    PEOPLE.vendorB,
    '2026-12-09T07:41:15Z',
    'Vendor B accepts: quorum',
  ],
  ['case-07-vendor-a-fix-ready.eml', PEOPLE.vendorA, '2027-01-04T16:20:30Z', 'Vendor A has a fix ready'],
  [
    'case-08-vendor-a-published.eml',
    PEOPLE.vendorA,
    '2027-01-14T09:00:30Z',
    'The advisory is published early',
  ],
];

const out = (s = '') => process.stdout.write(`${s}\n`);
const dir = mkdtempSync(join(tmpdir(), 'vultron-mail-demo-stack-'));
chmodSync(dir, 0o755);
const stackDir = join(dir, 'stack');

execFileSync('bash', [STACK, 'install'], { stdio: 'inherit' });
const users = [BOT, ...Object.values(PEOPLE)].map((u) => `${u}:${PASS}`).join(' ');
execFileSync('bash', [STACK, 'start', stackDir, String(OFFSET)], {
  stdio: 'inherit',
  env: { ...process.env, MS_USERS: users },
});

let code = 0;
try {
  const ca = readFileSync(join(stackDir, 'tls', 'cert.pem'), 'utf8');
  const tls = { ca, servername: 'localhost' };
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify(
      {
        bot: { address: BOT, name: 'Example CVD Coordination', caseIdPrefix: 'VM' },
        store: { path: './vultron-mail.sqlite' },
        smtp: { host: '127.0.0.1', port: ports.smtp, requireTLS: true, tls },
        imap: {
          host: '127.0.0.1',
          port: ports.imaps,
          secure: true,
          tls,
          auth: { user: BOT, pass: PASS },
          mailbox: 'INBOX',
          processedMailbox: 'Processed',
        },
        coordinators: [PEOPLE.coordinator],
        security: { requireAuthenticatedSender: false },
      },
      null,
      2,
    ),
  );
  out(`vultron-mail demo on real mail servers (Dovecot IMAPS :${ports.imaps}, Postfix SMTP :${ports.smtp})`);
  out(`working directory: ${dir}`);
  const seen = new Map(Object.values(PEOPLE).map((p) => [p, 0]));

  for (const [i, [file, from, at, title]] of STEPS.entries()) {
    out();
    out(`── ${i + 1}. ${title}  (${at})`);
    // Delivered into the bot's mailbox with the arrival time of the story (IMAP APPEND sets the
    // INTERNALDATE the bot reads as arrival); the bot's own mails go out through Postfix.
    const raw = readFileSync(join(FIXTURES, file));
    const c = await client(BOT);
    await c.append('INBOX', raw, [], new Date(at));
    await c.logout();
    const run = spawnSync(process.execPath, [BIN, '--config', config, '--now', at, 'run', '--once'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', VULTRON_MAIL_LOG_LEVEL: 'warn' },
    });
    if (run.status !== 0) throw new Error(`run --once exited ${run.status}: ${run.stderr}${run.stdout}`);
    out(`   ${from} → ${BOT}: ${file}`);
    for (const person of Object.values(PEOPLE)) {
      const items = await mailbox(person);
      for (const m of items.slice(seen.get(person))) {
        out(`   ${person.padEnd(28)} got: ${m.subject}${m.calendar ? `  [${m.calendar}]` : ''}`);
      }
      seen.set(person, items.length);
    }
  }
  const show = spawnSync(process.execPath, [BIN, '--config', config, 'cases'], { encoding: 'utf8' });
  out();
  out(show.stdout.trim());
  out();
  out(`The case:  node bin/vultron-mail.js --config ${config} case show <id>`);
} catch (err) {
  process.stderr.write(`demo:mailstack: ${err instanceof Error ? err.message : String(err)}\n`);
  code = 1;
} finally {
  execFileSync('bash', [STACK, 'stop', stackDir], { stdio: 'inherit' });
  out(`mail servers stopped; their mailboxes stay in ${stackDir}/mail`);
}
process.exit(code);

async function client(user) {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: ports.imaps,
    secure: true,
    tls: { ca: readFileSync(join(stackDir, 'tls', 'cert.pem'), 'utf8'), servername: 'localhost' },
    auth: { user, pass: PASS },
    logger: false,
  });
  await c.connect();
  return c;
}

async function mailbox(user) {
  const c = await client(user);
  const items = [];
  try {
    const lock = await c.getMailboxLock('INBOX');
    try {
      for await (const m of c.fetch('1:*', { envelope: true, bodyStructure: true, uid: true })) {
        const parts = JSON.stringify(m.bodyStructure ?? {});
        const method = /"text\/calendar".*?"method":"(\w+)"/i.exec(parts)?.[1];
        items.push({ uid: m.uid, subject: m.envelope?.subject ?? '', calendar: method ?? '' });
      }
    } finally {
      lock.release();
    }
  } catch {
    // An empty mailbox has no messages to fetch.
  } finally {
    await c.logout();
  }
  return items.sort((a, b) => a.uid - b.uid);
}
