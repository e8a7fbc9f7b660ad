/** Bad usage exits 2 (commander's own errors and our argument checks); --help and --version exit 0. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from './helpers.js';
import { run, sandbox } from './helpers.js';

let s: Sandbox;
beforeAll(async () => {
  s = await sandbox();
});
afterAll(() => s.cleanup());

describe('usage errors exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['an unknown option', ['cases', '--colour'], /unknown option '--colour'/],
    ['case new without --from', ['case', 'new', '--title', 'T'], /required option '--from <email>'/],
    [
      'case new without --title',
      ['case', 'new', '--from', 'a@b.example'],
      /required option '--title <title>'/,
    ],
    [
      'case new with a bad --from',
      ['case', 'new', '--from', 'nobody', '--title', 'T'],
      /"nobody" is not an email address/,
    ],
    [
      'case invite without --role',
      ['case', 'invite', 'VM-2026-0001', 'a@b.example'],
      /required option '--role <role>'/,
    ],
    [
      'case invite with a bad --role',
      ['case', 'invite', 'VM-2026-0001', 'a@b.example', '--role', 'boss'],
      /"boss" is not a role: use one of finder, reporter, vendor, deployer, coordinator, other/,
    ],
    [
      'case invite without an email',
      ['case', 'invite', 'VM-2026-0001', '--role', 'vendor'],
      /missing required argument 'email'/,
    ],
    [
      'case propose with a bad --end',
      ['case', 'propose', 'VM-2026-0001', '--end', 'soon'],
      /"soon" is not an embargo end/,
    ],
    [
      'case propose with an --end without offset',
      ['case', 'propose', 'VM-2026-0001', '--end', '2026-04-01T10:00:00'],
      /has no UTC offset/,
    ],
    [
      'a bad --now',
      ['--now', 'yesterday', 'cases'],
      /option '--now <instant>' argument 'yesterday' is invalid/,
    ],
    ['--now without an offset', ['--now', '2026-03-02T10:00:00', 'tick'], /RFC 3339/],
    ['--now on a day that does not exist', ['--now', '2026-02-30T10:00:00Z', 'tick'], /RFC 3339/],
    ['--now with an hour 24', ['--now', '2026-03-02T24:00:00Z', 'tick'], /RFC 3339/],
    [
      'outbox with a bad --status',
      ['outbox', '--status', 'lost'],
      /Allowed choices are pending, sent, failed/,
    ],
    ['case without a subcommand', ['case'], /Usage: vultron-mail case/],
  ];
  for (const [what, argv, message] of cases) {
    it(what, async () => {
      const r = await s.cli(...argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
    });
  }

  it('a bad --now is refused before anything runs (no case opened)', async () => {
    const r = await s.cli('--now', 'now', 'case', 'new', '--from', 'a@b.example', '--title', 'T');
    expect(r.code).toBe(2);
    expect((await s.cli('cases', '--json')).stdout).toBe('[]\n');
  });

  it('--now accepts any offset and works after the subcommand too', async () => {
    const r = await s.cli(
      'case',
      'new',
      '--from',
      'a@b.example',
      '--title',
      'T',
      '--now',
      '2026-01-01T00:30:00+01:00',
    );
    expect(r).toEqual({ code: 0, stdout: 'VM-2025-0001\n', stderr: '' });
  });
});

describe('help and version', () => {
  it('--help lists every command and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of [
      'init',
      'check-config',
      'ingest',
      'tick',
      'send',
      'cases',
      'case',
      'outbox',
      'quarantine',
      'schema',
      'tables',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    }
    expect(r.stdout).toContain('--config <file>');
    expect(r.stdout).toContain('--now <instant>');
  });

  it('--version prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('tables still works', async () => {
    const r = await run(['tables']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Message types');
  });
});
