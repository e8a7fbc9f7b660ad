/**
 * `npm run bench`: how fast and how lean the gateway is, each figure next to a baseline
 * measured in the same run on the same machine (docs/performance.md). Writes
 * bench/results/<date>.json and .md. Not part of the test suite: no timing assertions anywhere.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import { sliced } from '../bytes.js';
import { openApp } from '../cli/app.js';
import { pipelineFor } from '../cli/ingest.js';
import { main } from '../cli/main.js';
import { corpus, mailWithLongCalendar, reportWithAttachment } from './corpus.js';
import { pairedRatio, stats } from './figures.js';
import { floorRun, recordMails } from './floor.js';
import type { Figure } from './figures.js';
import { idlePoll, imapEndToEnd, latency } from './imap.js';
import { startBenchStack } from './mailstack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'vultron-mail.js');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const QUICK = process.env['BENCH_QUICK'] === '1';
const SKIP_IMAP = process.env['BENCH_SKIP_IMAP'] === '1';
/** Only the mail-server figures (2-4), for working on them. */
const ONLY_IMAP = process.env['BENCH_ONLY_IMAP'] === '1';
/** Runs of the 1,000-message and latency figures (each ~40 s): as many as the others by default. */
const IMAP_RUNS = Number(process.env['BENCH_IMAP_RUNS'] ?? RUNS);

const silent = { stdout: () => undefined, stderr: (s: string) => process.stderr.write(s) };

async function freshApp(): Promise<{ dir: string; config: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vultron-bench-'));
  const code = await main(['init', '--dir', dir], silent);
  if (code !== 0) throw new Error('init failed');
  return { dir, config: join(dir, 'config.json') };
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

/**
 * 1. Whole pipeline in one process vs bare mailparser on the same messages; and vs the floor of
 * the same work done by the bare libraries (src/bench/floor.ts). Each run measures all three.
 */
async function ingestThroughput(): Promise<Figure[]> {
  const cases = QUICK ? 10 : 100;
  const messages = corpus({ cases });
  const pipeline: number[] = [];
  const bare: number[] = [];
  const floor: number[] = [];
  const recorded = await freshApp();
  const recorder = openApp(recorded.config);
  const p0 = pipelineFor(recorder);
  const work = await recordMails(messages, (raw, now) => p0.ingest(raw, now), recorder.store);
  await recorder.close();
  rmSync(recorded.dir, { recursive: true, force: true });
  const mails = work.reduce((n, w) => n + w.mails.length, 0);
  for (let r = 0; r < RUNS; r++) {
    let t = process.hrtime.bigint();
    for (const m of messages) await simpleParser(m.raw);
    bare.push(messages.length / (Number(process.hrtime.bigint() - t) / 1e9));

    const { dir, config } = await freshApp();
    const app = openApp(config);
    const p = pipelineFor(app);
    t = process.hrtime.bigint();
    for (const m of messages) {
      const res = await p.ingest(m.raw, m.now);
      if (res.outcome === 'quarantined') throw new Error(`bench corpus quarantined: ${res.detail}`);
    }
    pipeline.push(messages.length / (Number(process.hrtime.bigint() - t) / 1e9));
    await app.close();
    floor.push(await floorRun(work, dir));
    rmSync(dir, { recursive: true, force: true });
    log(
      `  ingest run ${r + 1}: ${pipeline.at(-1)?.toFixed(0)} msg/s vs mailparser ${bare.at(-1)?.toFixed(0)} msg/s, library floor ${floor.at(-1)?.toFixed(0)} msg/s`,
    );
  }
  const name = `ingest throughput (${messages.length} messages, ${cases} cases, ${mails} mails written: parse → interpret → decide → commit → render)`;
  const ratio = pairedRatio(pipeline, bare);
  return [
    {
      name,
      unit: 'msg/s',
      better: 'higher',
      ...stats(pipeline),
      baseline: { name: 'bare mailparser simpleParser', ...stats(bare) },
      ratio,
      target: 'ratio ≥ 0.5',
      met: ratio >= 0.5,
    },
    {
      name: `${name}, against the same work by the bare libraries`,
      unit: 'msg/s',
      better: 'higher',
      ...stats(pipeline),
      baseline: {
        name: 'per message: mailparser parse, MailComposer builds of the same mails, one better-sqlite3 FULL commit of them',
        ...stats(floor),
      },
      ratio: pairedRatio(pipeline, floor),
      note: 'no target: what the gateway costs beyond the libraries it is made of',
    },
  ];
}

/** 1b. One process per mail, as an MTA pipe runs it; and the start-up time. */
async function processPerMail(): Promise<Figure[]> {
  const n = QUICK ? 10 : 20;
  const messages = corpus({ cases: Math.ceil(n / 20) }).slice(0, n);
  const perMail: number[] = [];
  const startup: number[] = [];
  const bareNode: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const { dir, config } = await freshApp();
    let t = process.hrtime.bigint();
    for (const m of messages) {
      const res = spawnSync(
        process.execPath,
        [BIN, '--config', config, '--now', m.now, 'ingest', '--no-send'],
        {
          input: m.raw,
        },
      );
      if (res.status !== 0) throw new Error(`ingest exited ${res.status}: ${res.stderr.toString()}`);
    }
    perMail.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
    t = process.hrtime.bigint();
    spawnSync(process.execPath, [BIN, '--version']);
    startup.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    bareNode.push(Number(process.hrtime.bigint() - t) / 1e6);
    rmSync(dir, { recursive: true, force: true });
  }
  const s = stats(startup);
  const b = stats(bareNode);
  return [
    {
      name: `ingest from stdin, one process per mail (${n} mails)`,
      unit: 'mail/s',
      better: 'higher',
      ...stats(perMail),
    },
    {
      name: 'process start-up (`vultron-mail --version`)',
      unit: 'ms',
      better: 'lower',
      ...s,
      baseline: { name: 'bare `node -e 0`', ...b },
      ratio: s.median / b.median,
      note: 'ratio = start-up / bare node start-up',
    },
  ];
}

/**
 * 5. Peak RSS for one big message, each measured in a child process of its own that reads the
 * message from a file (making the test message is not counted); baseline: mailparser alone,
 * fed the same way the pipeline feeds it (64 KiB slices, src/bytes.ts).
 */
function peakRss(kind: 'pipeline' | 'bare', file: string): number {
  const res = spawnSync(
    process.execPath,
    ['--expose-gc', fileURLToPath(import.meta.url), '--child', kind, file],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (res.status !== 0) throw new Error(`child ${kind} failed: ${res.stderr}`);
  return Number(res.stdout.trim()) / 1024;
}

async function child(kind: string, file: string): Promise<void> {
  const raw = readFileSync(file);
  if (kind === 'bare') {
    await simpleParser(sliced(raw));
  } else {
    const { dir, config } = await freshApp();
    const app = openApp(config);
    const res = await pipelineFor(app).ingest(raw, '2026-03-02T08:00:01Z');
    if (res.outcome === 'quarantined') throw new Error(res.detail);
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // maxRSS is in kilobytes.
  process.stdout.write(`${process.resourceUsage().maxRSS}\n`);
}

async function memory(): Promise<Figure[]> {
  const figures: Figure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'vultron-bench-mem-'));
  try {
    for (const [name, label, raw] of [
      ['attachment.eml', 'a report with a 25 MB attachment', reportWithAttachment(25 * 1024 * 1024)],
      ['calendar.eml', 'a mail with a 10,000-line calendar part', mailWithLongCalendar(10_000)],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, raw);
      const ours: number[] = [];
      const bare: number[] = [];
      for (let r = 0; r < Math.min(RUNS, 3); r++) {
        ours.push(peakRss('pipeline', file));
        bare.push(peakRss('bare', file));
      }
      const a = stats(ours);
      const b = stats(bare);
      log(`  ${label}: ${a.median.toFixed(0)} MB vs mailparser alone ${b.median.toFixed(0)} MB`);
      figures.push({
        name: `peak RSS processing ${label}`,
        unit: 'MB',
        better: 'lower',
        ...a,
        baseline: { name: 'mailparser alone on the same mail, fed in the same slices', ...b },
        ratio: a.median / b.median,
        target: '< 200 MB',
        met: a.median < 200,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

/** 5b. Leak check: RSS after GC at each fifth of 10,000 messages in one process. */
async function leak(): Promise<Figure> {
  const cases = QUICK ? 50 : 500;
  const messages = corpus({ cases });
  const { dir, config } = await freshApp();
  const app = openApp(config);
  const p = pipelineFor(app);
  const gc = (globalThis as { gc?: () => void }).gc;
  const samples: Array<[number, number]> = [];
  for (const [i, m] of messages.entries()) {
    await p.ingest(m.raw, m.now);
    // Five samples (every 2,000 of the 10,000; every 200 of the quick run's 1,000).
    if ((i + 1) % (messages.length / 5) === 0) {
      gc?.();
      samples.push([i + 1, process.memoryUsage().rss / 1024 / 1024]);
      log(`  leak check: ${i + 1} messages, RSS ${samples.at(-1)?.[1].toFixed(1)} MB`);
    }
  }
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  const first = samples[0] as [number, number];
  const last = samples.at(-1) as [number, number];
  return {
    name: `RSS after GC over ${messages.length} messages (leak check)`,
    unit: 'MB',
    better: 'lower',
    median: last[1],
    min: Math.min(...samples.map((s) => s[1])),
    max: Math.max(...samples.map((s) => s[1])),
    baseline: {
      name: `RSS after GC at ${first[0]} messages`,
      median: first[1],
      min: first[1],
      max: first[1],
    },
    ratio: last[1] / first[1],
    target: 'no growth (ratio ≈ 1)',
    met: last[1] / first[1] < 1.2,
    note: samples.map(([n, mb]) => `${n}: ${mb.toFixed(1)} MB`).join(', '),
  };
}

/** 6. Case-service transactions/s vs bare better-sqlite3 inserts, same durability settings. */
async function store(): Promise<Figure> {
  const n = QUICK ? 100 : 500;
  const ours: number[] = [];
  const bare: number[] = [];
  const payload = Buffer.alloc(4096, 'x');
  for (let r = 0; r < RUNS; r++) {
    const { dir, config } = await freshApp();
    const app = openApp(config);
    await main(
      [
        '--config',
        config,
        '--now',
        '2026-03-02T08:00:00Z',
        'case',
        'new',
        '--from',
        'f@r.example',
        '--title',
        'T',
        '--no-send',
      ],
      silent,
    );
    const caseId = app.store.listCases()[0]?.id as string;
    let t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await app.service.apply(
        caseId,
        { kind: 'message', from: 'f@r.example', codes: ['GI'], payload: { text: `note ${i}` } },
        { now: new Date(Date.parse('2026-03-02T09:00:00Z') + i * 1000).toISOString(), inbound: null },
      );
    }
    ours.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
    await app.close();

    const db = new Database(join(dir, 'bare.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB, at TEXT)');
    const ins = db.prepare('INSERT INTO t (body, at) VALUES (?, ?)');
    const tx = db.transaction((i: number) => ins.run(payload, String(i)));
    t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) tx(i);
    bare.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const a = stats(ours);
  const b = stats(bare);
  return {
    name: `case-service transactions (${n} GI messages: decide → render → commit)`,
    unit: 'tx/s',
    better: 'higher',
    ...a,
    baseline: { name: 'bare better-sqlite3: one 4 KB insert per transaction, WAL, synchronous=FULL', ...b },
    ratio: a.median / b.median,
  };
}

/** 2-4: the figures that need the real Dovecot + Postfix; "not measured" (with why) without them. */
async function imapFigures(): Promise<Figure[]> {
  const names = {
    e2e: 'IMAP end to end (1,000 messages → notifications accepted by Postfix)',
    poll: 'idle poll, no new mail, 10 vs 10,000 messages',
    latency: 'latency p50/p99, delivery → notification accepted by SMTP, IDLE',
  };
  let stack;
  try {
    stack = await startBenchStack();
  } catch (err) {
    const why = (err as Error).message.split('\n')[0] as string;
    log(`2-4. not measured: ${why}`);
    return Object.values(names).map((name) => ({
      name,
      unit: '',
      better: 'higher' as const,
      median: Number.NaN,
      min: Number.NaN,
      max: Number.NaN,
      notMeasured: why,
    }));
  }
  const figures: Figure[] = [];
  const guard = async (name: string, f: () => Promise<Figure[]>): Promise<void> => {
    try {
      figures.push(...(await f()));
    } catch (err) {
      log(`  ${name}: not measured: ${(err as Error).message}`);
      figures.push({
        name,
        unit: '',
        better: 'higher',
        median: Number.NaN,
        min: Number.NaN,
        max: Number.NaN,
        notMeasured: (err as Error).message,
      });
    }
  };
  try {
    log('2. IMAP end to end');
    await guard(names.e2e, async () => [await imapEndToEnd(stack, IMAP_RUNS, QUICK ? 5 : 50)]);
    log('3. idle poll cost');
    await guard(names.poll, () => idlePoll(stack, QUICK ? 2 : RUNS));
    log('4. latency');
    await guard(names.latency, () => latency(stack, IMAP_RUNS, QUICK ? 20 : 200, 5));
  } finally {
    await stack.destroy();
  }
  return figures;
}

function markdown(figures: Figure[], meta: Record<string, string>): string {
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const lines = [
    `# Benchmark results ${meta['date']}`,
    '',
    `Machine: ${meta['cpus']}, ${meta['memory']}, Node ${meta['node']}. Median of ${meta['runs']} runs (min–max); the IMAP end to end and the latency: ${meta['imapRuns']}. A throughput ratio is the median of the per-run ratios (each run measures both back to back); the others are median / median.`,
    '',
    '| measure | value | baseline | ratio | target |',
    '|---|---|---|---|---|',
  ];
  for (const f of figures) {
    if (f.notMeasured) {
      lines.push(`| ${f.name} | not measured: ${f.notMeasured} | — | — | ${f.target ?? '—'} |`);
      continue;
    }
    const value = `${fmt(f.median)} ${f.unit} (${fmt(f.min)}–${fmt(f.max)})`;
    const base = f.baseline
      ? `${f.baseline.name}: ${fmt(f.baseline.median)} ${f.unit} (${fmt(f.baseline.min)}–${fmt(f.baseline.max)})`
      : '—';
    const ratio = f.ratio === undefined ? '—' : f.ratio.toFixed(2);
    const target = f.target ? `${f.target}: ${f.met ? 'met' : '**missed**'}` : '—';
    lines.push(`| ${f.name} | ${value} | ${base} | ${ratio} | ${target} |`);
  }
  const notes = figures.filter((f) => f.note);
  if (notes.length) {
    lines.push('', ...notes.map((f) => `- ${f.name}: ${f.note}`));
  }
  return `${lines.join('\n')}\n`;
}

async function runAll(): Promise<void> {
  const figures: Figure[] = [];
  if (!ONLY_IMAP) {
    log('1. ingest throughput');
    figures.push(...(await ingestThroughput()));
    log('1b. one process per mail');
    figures.push(...(await processPerMail()));
  }
  if (!SKIP_IMAP) figures.push(...(await imapFigures()));
  if (!ONLY_IMAP) {
    log('5. memory');
    figures.push(...(await memory()));
    log('5b. leak check');
    figures.push(await leak());
    log('6. store');
    figures.push(await store());
  }
  const date = new Date().toISOString().slice(0, 10);
  const meta = {
    date,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    node: process.version,
    runs: String(RUNS),
    imapRuns: SKIP_IMAP ? 'skipped (BENCH_SKIP_IMAP=1)' : `${IMAP_RUNS} runs`,
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${date}.json`), `${JSON.stringify({ meta, figures }, null, 2)}\n`);
  const md = markdown(figures, meta);
  writeFileSync(join(dir, `${date}.md`), md);
  process.stdout.write(md);
  log(`written: bench/results/${date}.json and .md`);
}

const i = process.argv.indexOf('--child');
if (i >= 0) await child(process.argv[i + 1] as string, process.argv[i + 2] as string);
else await runAll();
