/**
 * A realistic corpus for the benchmarks: cases of 20 messages each, as people write them
 * (top-posted replies with quotes and signatures, slash commands, discussion), all addressed
 * to the bot of config.example.json. Deterministic: the same arguments give the same bytes.
 */

export const BOT_LOCAL = 'cvd';
export const BOT_DOMAIN = 'example.org';
export const COORDINATOR = 'coordinator@example.org';

export interface CorpusMessage {
  raw: Buffer;
  /** The arrival time to ingest it with. */
  now: string;
}

const QUOTE = [
  '> Thanks for the report. We reproduced the crash with the attached PoC',
  '> on 2.3 and on the 2.4 branch; 2.2 is not affected because the chunk',
  '> parser was rewritten in 2.3. We are working on a fix.',
  '>',
  '> Regards,',
  '> PSIRT',
];

const SIGNATURE = ['-- ', 'Product Security Incident Response Team', 'PGP: 0x5A1E 7C3D 9B2F 4E61'];

function date(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

function mail(h: {
  from: string;
  name: string;
  to: string;
  subject: string;
  id: string;
  at: number;
  body: string[];
  inReplyTo?: string;
}): Buffer {
  const lines = [
    `Return-Path: <${h.from}>`,
    `Received: from mx.${h.from.split('@')[1]} by mx.${BOT_DOMAIN}; ${date(h.at)}`,
    `From: ${h.name} <${h.from}>`,
    `To: ${h.to}`,
    `Subject: ${h.subject}`,
    `Date: ${date(h.at)}`,
    `Message-ID: ${h.id}`,
    ...(h.inReplyTo ? [`In-Reply-To: ${h.inReplyTo}`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    ...h.body,
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

/**
 * `cases` cases of 20 messages each, interleaved in time as a busy mailbox sees them. Case
 * numbers start at `firstCase` (the store must be fresh for the plus-addresses to match).
 */
export function corpus(opts: {
  cases: number;
  year?: number;
  firstCase?: number;
  start?: string;
}): CorpusMessage[] {
  const year = opts.year ?? 2026;
  const first = opts.firstCase ?? 1;
  const start = Date.parse(opts.start ?? `${year}-03-02T08:00:00Z`);
  const perCase: CorpusMessage[][] = [];
  for (let c = 0; c < opts.cases; c++) {
    const n = first + c;
    const id = `VM-${year}-${String(n).padStart(4, '0')}`;
    const plus = `${BOT_LOCAL}+${id}@${BOT_DOMAIN}`;
    const reporter = `finder${n}@research.example`;
    const vendorA = `psirt${n}@vendor-a.example`;
    const vendorB = `security${n}@vendor-b.example`;
    const subject = `Buffer overflow in component ${n} of libexample`;
    const re = `Re: [${id}] ${subject}`;
    const t0 = start + c * 60_000;
    const end = new Date(start + 40 * 86_400_000).toISOString().slice(0, 10);
    const msgs: Array<{ from: string; name: string; body: string[]; subject?: string; to?: string }> = [
      {
        from: reporter,
        name: `Finder ${n}`,
        to: `CVD <${BOT_LOCAL}@${BOT_DOMAIN}>`,
        subject,
        body: [
          'Hello,',
          '',
          `component ${n} of libexample trusts a length field from the input and copies`,
          'past the end of a heap buffer. A crafted file crashes the viewer and, with',
          'some heap grooming, gives control of the instruction pointer.',
          '',
          'Steps to reproduce are below; a proof of concept is available on request.',
          '',
          ...Array.from(
            { length: 12 },
            (_, i) => `  ${i + 1}. step ${i + 1} of the reproduction, with details`,
          ),
          '',
          'Regards,',
          `Finder ${n}`,
        ],
      },
      {
        from: COORDINATOR,
        name: 'Coordinator',
        body: ['In scope.', '', '/accept', `/invite ${vendorA} vendor`, '', ...SIGNATURE],
      },
      { from: COORDINATOR, name: 'Coordinator', body: [`/invite ${vendorB} vendor`] },
      {
        from: vendorA,
        name: 'Vendor A PSIRT',
        body: ['We have it, thanks.', '', '/accept', '', ...SIGNATURE, '', ...QUOTE],
      },
      {
        from: vendorB,
        name: 'Vendor B Security',
        body: ['Looking into it.', '', '/valid', '', ...SIGNATURE],
      },
      { from: reporter, name: `Finder ${n}`, body: [`Proposing ${end}.`, '', `/embargo ${end}`] },
      { from: vendorA, name: 'Vendor A PSIRT', body: ['Fine with us.', '', '/embargo accept', '', ...QUOTE] },
      { from: vendorB, name: 'Vendor B Security', body: ['/embargo accept'] },
    ];
    while (msgs.length < 18) {
      const k = msgs.length;
      const who = [reporter, vendorA, vendorB, COORDINATOR][k % 4] as string;
      msgs.push({
        from: who,
        name: `Participant ${k}`,
        body: [
          `Status update ${k}: the patch is in review; we expect to have packages`,
          'for the stable branches by the end of next week.',
          '',
          ...SIGNATURE,
          '',
          `On Mon, 2 Mar ${year} at 10:00, someone wrote:`,
          ...QUOTE,
        ],
      });
    }
    msgs.push({
      from: vendorA,
      name: 'Vendor A PSIRT',
      body: ['Fixed in 2.3.1.', '', '/fix-ready', '', ...SIGNATURE],
    });
    msgs.push({
      from: vendorA,
      name: 'Vendor A PSIRT',
      body: ['Advisory published.', '', `/public https://vendor-a.example/advisories/${n}`],
    });
    perCase.push(
      msgs.map((m, i) => {
        const at = t0 + i * 3_600_000;
        return {
          now: new Date(at + 1000).toISOString(),
          raw: mail({
            from: m.from,
            name: m.name,
            to: m.to ?? plus,
            subject: m.subject ?? re,
            id: `<bench-${n}-${i}@${m.from.split('@')[1]}>`,
            at,
            body: m.body,
          }),
        };
      }),
    );
  }
  // Interleave by arrival time, as one mailbox receives them.
  return perCase.flat().sort((a, b) => Date.parse(a.now) - Date.parse(b.now));
}

/** A report with one attachment of `bytes` (base64 in the mail). */
export function reportWithAttachment(bytes: number, at = '2026-03-02T08:00:00Z'): Buffer {
  const content = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) content[i] = (i * 131 + 7) & 0xff;
  const b64 = content.toString('base64').replace(/.{76}/g, '$&\r\n');
  const head = [
    'From: Finder <finder@research.example>',
    `To: ${BOT_LOCAL}@${BOT_DOMAIN}`,
    'Subject: Crash dump attached',
    `Date: ${date(Date.parse(at))}`,
    `Message-ID: <bench-attachment-${bytes}@research.example>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The proof of concept and a core dump are attached.',
    '',
    '--b1',
    'Content-Type: application/octet-stream; name="core.bin"',
    'Content-Disposition: attachment; filename="core.bin"',
    'Content-Transfer-Encoding: base64',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head + '\r\n'), Buffer.from(b64), Buffer.from('\r\n--b1--\r\n')]);
}

/** A mail whose text/calendar part has `lines` lines (a long DESCRIPTION folded over them). */
export function mailWithLongCalendar(lines: number, at = '2026-03-02T08:00:00Z'): Buffer {
  const ics = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//bench//EN',
    'METHOD:PUBLISH',
    'BEGIN:VEVENT',
    'UID:bench-long@example.net',
    'DTSTAMP:20260302T080000Z',
    'DTSTART:20260310T090000Z',
    'SUMMARY:Long calendar',
    `DESCRIPTION:${'x'.repeat(70)}`,
    ...Array.from({ length: Math.max(0, lines - 13) }, () => ` ${'y'.repeat(72)}`),
    'END:VEVENT',
    'END:VCALENDAR',
  ].join('\r\n');
  const head = [
    'From: Someone <someone@elsewhere.example>',
    `To: ${BOT_LOCAL}@${BOT_DOMAIN}`,
    'Subject: Meeting',
    `Date: ${date(Date.parse(at))}`,
    `Message-ID: <bench-ics-${lines}@elsewhere.example>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b2"',
    '',
    '--b2',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'See the invitation.',
    '',
    '--b2',
    'Content-Type: text/calendar; method=PUBLISH; charset=utf-8',
    '',
  ].join('\r\n');
  return Buffer.from(`${head}\r\n${ics}\r\n--b2--\r\n`);
}
