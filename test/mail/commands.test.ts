/**
 * parseCommands: the email command language of DESIGN.md §3 and the `/embargo` forms of §2.
 * Every expected value is written out literally.
 */
import { describe, expect, it } from 'vitest';
import { COMMAND_HELP, mapEmbargoCodes, parseCommands, resolveEmbargoEnd } from '../../src/mail/commands.js';
import type { ParseOptions, ParseResult } from '../../src/mail/commands.js';
import type { Payload } from '../../src/protocol/types.js';
import type { EMState, MessageCode } from '../../src/protocol/vocabulary.js';

const ARRIVED = '2027-01-10T09:00:00Z';
const OPTS: ParseOptions = { arrivedAt: ARRIVED, policy: { embargo: { defaultDays: 45 } } };

function parse(text: string, extra: Partial<ParseOptions> = {}): ParseResult {
  return parseCommands(text, { ...OPTS, ...extra });
}

const ok = (codes: MessageCode[], payload: Payload, lines: string[]): ParseResult => ({
  ok: true,
  codes,
  payload,
  lines,
});
const bad = (line: string, error: string): ParseResult => ({ ok: false, line, error });

describe('each command', () => {
  const cases: [string, MessageCode[], Payload][] = [
    ['/valid', ['RV'], {}],
    ['/invalid', ['RI'], {}],
    ['/accept', ['RA'], {}],
    ['/defer', ['RD'], {}],
    ['/close', ['RC'], {}],
    ['/close adhere', ['RC'], { adherence: 'adhere' }],
    ['/close no-adhere', ['RC'], { adherence: 'no-adhere' }],
    ['/embargo 2027-03-01', ['EP'], { embargoEnd: '2027-03-01T23:59:59Z' }],
    ['/embargo', ['EP'], { embargoEnd: '2027-02-24T23:59:59Z' }],
    ['/embargo accept', ['EA'], {}],
    ['/embargo accept E2', ['EA'], { proposal: 'E2' }],
    ['/embargo accept e12', ['EA'], { proposal: 'E12' }],
    ['/embargo reject', ['ER'], {}],
    ['/embargo reject 2', ['ER'], { proposal: 'E2' }],
    ['/embargo terminate', ['ET'], {}],
    [
      '/embargo terminate the advisory was published early',
      ['ET'],
      { reason: 'the advisory was published early' },
    ],
    ['/aware', ['CV'], {}],
    ['/aware psirt@vendor.example', ['CV'], { vendor: 'psirt@vendor.example' }],
    ['/fix-ready', ['CF'], {}],
    ['/fix-ready Alice@Vendor.Example', ['CF'], { vendor: 'alice@vendor.example' }],
    ['/fix-ready <alice@vendor.example>', ['CF'], { vendor: 'alice@vendor.example' }],
    ['/fix-ready mailto:alice@vendor.example', ['CF'], { vendor: 'alice@vendor.example' }],
    // Outlook's plain text and mailparser's HTML-to-text add the link after the address.
    [
      '/fix-ready alice@vendor.example<mailto:alice@vendor.example>',
      ['CF'],
      { vendor: 'alice@vendor.example' },
    ],
    ['/fix-ready alice@vendor.example [alice@vendor.example]', ['CF'], { vendor: 'alice@vendor.example' }],
    ['/deployed', ['CD'], {}],
    ['/deployed ops@deployer.example', ['CD'], { vendor: 'ops@deployer.example' }],
    [
      '/public https://vendor.example/advisories/42',
      ['CP'],
      { reason: 'https://vendor.example/advisories/42' },
    ],
    ['/public announced at the vendor conference', ['CP'], { reason: 'announced at the vendor conference' }],
    ['/exploit-public https://github.example/poc', ['CX'], { reason: 'https://github.example/poc' }],
    ['/attacks seen in the wild by our SOC', ['CA'], { reason: 'seen in the wild by our SOC' }],
    [
      '/invite alice@vendor.example vendor',
      ['GI'],
      { invite: { email: 'alice@vendor.example', role: 'vendor' } },
    ],
    [
      '/invite Dave@Vendor2.example COORDINATOR',
      ['GI'],
      { invite: { email: 'dave@vendor2.example', role: 'coordinator' } },
    ],
    [
      '/invite erin@vendor3.example<mailto:erin@vendor3.example> deployer',
      ['GI'],
      { invite: { email: 'erin@vendor3.example', role: 'deployer' } },
    ],
    ['/remove bob@vendor.example', ['GI'], { remove: 'bob@vendor.example' }],
    ['/leave', ['GI'], { leave: true }],
    ['/leave adhere', ['GI'], { leave: true, adherence: 'adhere' }],
    ['/leave no-adhere', ['GI'], { leave: true, adherence: 'no-adhere' }],
    ['/status', ['GI'], { status: true }],
    ['/help', ['GI'], { help: true }],
    // Case-insensitive, leading whitespace (also a no-break space from HTML), extra spaces.
    ['/VALID', ['RV'], {}],
    ['/Close No-Adhere', ['RC'], { adherence: 'no-adhere' }],
    ['/EMBARGO ACCEPT e2', ['EA'], { proposal: 'E2' }],
    ['   \t/defer', ['RD'], {}],
    ['\u00a0/accept', ['RA'], {}],
    ['/embargo    2027-03-01   ', ['EP'], { embargoEnd: '2027-03-01T23:59:59Z' }],
  ];
  it.each(cases)('%j', (line, codes, payload) => {
    expect(parse(line)).toEqual(ok(codes, payload, [line.trim()]));
  });

  it('the command list names every command', () => {
    for (const word of [
      '/valid',
      '/invalid',
      '/accept',
      '/defer',
      '/close',
      '/embargo',
      '/embargo accept',
      '/embargo reject',
      '/embargo terminate',
      '/aware',
      '/fix-ready',
      '/deployed',
      '/public',
      '/exploit-public',
      '/attacks',
      '/invite',
      '/remove',
      '/leave',
      '/status',
      '/help',
    ]) {
      expect(COMMAND_HELP).toContain(`  ${word} `);
    }
  });
});

describe('embargo ends', () => {
  const endOf = (spec: string, arrivedAt = ARRIVED) => resolveEmbargoEnd(spec, arrivedAt);

  const good: [string, string, string][] = [
    // YYYY-MM-DD = 23:59:59Z that day.
    ['2027-03-01', ARRIVED, '2027-03-01T23:59:59Z'],
    ['2028-02-29', ARRIVED, '2028-02-29T23:59:59Z'], // leap day
    ['2000-02-29', ARRIVED, '2000-02-29T23:59:59Z'], // leap century (the past is the core's to refuse)
    ['2027-12-31', ARRIVED, '2027-12-31T23:59:59Z'],
    ['2028-01-01', ARRIVED, '2028-01-01T23:59:59Z'],
    // RFC 3339 instants, normalised to UTC without fractions.
    ['2027-03-01T16:00:00Z', ARRIVED, '2027-03-01T16:00:00Z'],
    ['2027-03-01t16:00:00z', ARRIVED, '2027-03-01T16:00:00Z'],
    ['2027-03-01T16:00:00+02:00', ARRIVED, '2027-03-01T14:00:00Z'],
    ['2027-03-01T16:00:00-00:00', ARRIVED, '2027-03-01T16:00:00Z'],
    ['2027-03-01T01:00:00+02:00', ARRIVED, '2027-02-28T23:00:00Z'], // back over a month end
    ['2028-03-01T01:00:00+02:00', ARRIVED, '2028-02-29T23:00:00Z'], // … onto a leap day
    ['2027-12-31T22:30:00-05:00', ARRIVED, '2028-01-01T03:30:00Z'], // forward over a year end
    ['2027-01-01T00:30:00+01:00', ARRIVED, '2026-12-31T23:30:00Z'], // back over a year end
    ['2027-03-01T16:00:00+05:45', ARRIVED, '2027-03-01T10:15:00Z'],
    ['2027-03-01T16:00:00.999Z', ARRIVED, '2027-03-01T16:00:00Z'], // fractions are cut off
    ['2027-03-01T16:00:00.5-03:30', ARRIVED, '2027-03-01T19:30:00Z'],
    ['2027-03-01T16:00Z', ARRIVED, '2027-03-01T16:00:00Z'], // seconds may be left out
    ['2027-03-01 16:00:00Z', ARRIVED, '2027-03-01T16:00:00Z'], // RFC 3339 §5.6 note: a space
    ['2027-03-01T23:59:59Z', ARRIVED, '2027-03-01T23:59:59Z'],
    // +Nd = 23:59:59Z of the UTC day N days after the arrival.
    ['+30d', ARRIVED, '2027-02-09T23:59:59Z'],
    ['+30D', ARRIVED, '2027-02-09T23:59:59Z'],
    ['+1d', '2027-01-10T00:00:00Z', '2027-01-11T23:59:59Z'],
    ['+1d', '2027-01-10T23:59:59Z', '2027-01-11T23:59:59Z'],
    ['+1d', '2026-12-31T12:00:00Z', '2027-01-01T23:59:59Z'], // over a year end
    ['+1d', '2028-02-28T12:00:00Z', '2028-02-29T23:59:59Z'], // onto a leap day
    ['+1d', '2027-02-28T12:00:00Z', '2027-03-01T23:59:59Z'], // no leap day
    // The arrival's UTC day counts, not its local one: 01:30+02:00 is the day before in UTC.
    ['+1d', '2027-01-01T01:30:00+02:00', '2027-01-01T23:59:59Z'],
    ['+1d', '2026-12-31T22:30:00-05:00', '2027-01-02T23:59:59Z'],
    ['+9999d', ARRIVED, '2054-05-27T23:59:59Z'],
  ];
  it.each(good)('%s (arrived %s) → %s', (spec, arrivedAt, end) => {
    expect(endOf(spec, arrivedAt)).toEqual({ ok: true, end });
  });

  const forms =
    'write a date (2027-03-01, meaning 23:59:59 UTC that day), a time with a UTC offset (2027-03-01T16:00:00Z or 2027-03-01T16:00:00+02:00) or a number of days (+30d)';
  const refused: [string, string][] = [
    ['2027-02-29', '"2027-02-29" is not a date in the calendar.'],
    ['2100-02-29', '"2100-02-29" is not a date in the calendar.'],
    ['2027-02-30', '"2027-02-30" is not a date in the calendar.'],
    ['2027-04-31', '"2027-04-31" is not a date in the calendar.'],
    ['2027-13-01', '"2027-13-01" is not a date in the calendar.'],
    ['2027-00-10', '"2027-00-10" is not a date in the calendar.'],
    ['2027-02-30T10:00:00Z', '"2027-02-30T10:00:00Z": 2027-02-30 is not a date in the calendar.'],
    [
      '2027-03-01T16:00:00',
      '"2027-03-01T16:00:00" has no UTC offset: add "Z" for UTC or an offset such as "+02:00", e.g. "2027-03-01T16:00:00Z".',
    ],
    [
      '2027-03-01T16:00',
      '"2027-03-01T16:00" has no UTC offset: add "Z" for UTC or an offset such as "+02:00", e.g. "2027-03-01T16:00:00Z".',
    ],
    [
      '2027-03-01 09:30:15.250',
      '"2027-03-01 09:30:15.250" has no UTC offset: add "Z" for UTC or an offset such as "+02:00", e.g. "2027-03-01T09:30:15Z".',
    ],
    ['2027-03-01T24:00:00Z', '"2027-03-01T24:00:00Z" is not a valid time of day.'],
    ['2027-03-01T16:60:00Z', '"2027-03-01T16:60:00Z" is not a valid time of day.'],
    ['2027-03-01T23:59:60Z', '"2027-03-01T23:59:60Z" is not a valid time of day.'],
    ['2027-03-01T16:00:00+24:00', '"2027-03-01T16:00:00+24:00" has an invalid UTC offset "+24:00".'],
    ['2027-03-01T16:00:00+02:60', '"2027-03-01T16:00:00+02:60" has an invalid UTC offset "+02:60".'],
    ['2027-03-01T16:00:00+0200', `"2027-03-01T16:00:00+0200" is not an RFC 3339 time: ${forms}.`],
    ['2027-03-01T16:00:00 CET', `"2027-03-01T16:00:00 CET" is not an RFC 3339 time: ${forms}.`],
    ['+0d', '"+0d": the number of days must be from 1 to 9999.'],
    ['+10000d', '"+10000d": the number of days must be from 1 to 9999.'],
    ['+6w', '"+6w": only a number of days is accepted, e.g. "+30d".'],
    ['+30', '"+30": only a number of days is accepted, e.g. "+30d".'],
    ['+30 days', `"+30 days" is not an embargo end: ${forms}.`],
    ['-30d', `"-30d" is not an embargo end: ${forms}.`],
    ['2027-3-1', `"2027-3-1" is not an embargo end: ${forms}.`],
    ['01.03.2027', `"01.03.2027" is not an embargo end: ${forms}.`],
    ['next friday', `"next friday" is not an embargo end: ${forms}.`],
  ];
  it.each(refused)('%j is refused', (spec, error) => {
    expect(endOf(spec)).toEqual({ ok: false, error });
    expect(parse(`/embargo ${spec}`)).toEqual(bad(`/embargo ${spec}`, error));
  });

  it('a bare /embargo takes policy.embargo.defaultDays like +Nd', () => {
    expect(parse('/embargo', { policy: { embargo: { defaultDays: 90 } } })).toEqual(
      ok(['EP'], { embargoEnd: '2027-04-10T23:59:59Z' }, ['/embargo']),
    );
    expect(parse('/embargo', { arrivedAt: '2027-12-31T23:59:59Z' })).toEqual(
      ok(['EP'], { embargoEnd: '2028-02-14T23:59:59Z' }, ['/embargo']),
    );
  });

  it('an arrival that is not an instant is a caller bug', () => {
    expect(() => parse('/valid', { arrivedAt: 'yesterday' })).toThrow(RangeError);
  });
});

describe('what is a command line', () => {
  const text: string[] = [
    '/usr/lib/libfoo.so is affected',
    '/usr/lib/libfoo.so',
    '/tmp/ is world-writable',
    '/x86 builds only',
    '/v2/api/login returns 500',
    '// a code comment',
    '/ valid',
    '/.hidden',
    '/_private',
    'please mark it /valid',
    'https://vendor.example/valid',
  ];
  it.each(text)('%j is text', (line) => {
    expect(parse(line)).toEqual(ok(['GI'], { text: line }, []));
  });

  it('a path line and a command line in one mail', () => {
    expect(parse('/usr/lib/libfoo.so is affected\n/valid')).toEqual(
      ok(['RV'], { text: '/usr/lib/libfoo.so is affected' }, ['/valid']),
    );
  });
});

describe('errors: the line and the message', () => {
  const pathHint =
    ' A line that starts with "/" and a word is read as a command; to start a line with a path, write it with a second "/" (e.g. "/tmp/").';
  const cases: [string, string, string][] = [
    // Unknown commands, with a suggestion when the word is close to one.
    ['/embargoo 2027-03-01', '/embargoo 2027-03-01', 'Unknown command "/embargoo". Did you mean "/embargo"?'],
    ['/embargo-accept', '/embargo-accept', 'Unknown command "/embargo-accept". Did you mean "/embargo"?'],
    ['/vaild', '/vaild', 'Unknown command "/vaild". Did you mean "/valid"?'],
    ['/stauts', '/stauts', 'Unknown command "/stauts". Did you mean "/status"?'],
    ['/fix', '/fix', 'Unknown command "/fix". Did you mean "/fix-ready"?'],
    ['/Publish now', '/Publish now', 'Unknown command "/publish". Did you mean "/public"?'],
    ['/tmp is world-writable', '/tmp is world-writable', `Unknown command "/tmp".${pathHint}`],
    ['/approve', '/approve', `Unknown command "/approve".${pathHint}`],
    ['/tmp.', '/tmp.', `Unknown command "/tmp".${pathHint}`],
    // Punctuation after a known command.
    ['/valid.', '/valid.', '"/valid." has "." after the command word: write "/valid" without punctuation.'],
    ['  /help:  ', '/help:', '"/help:" has ":" after the command word: write "/help" without punctuation.'],
    // Arguments where none are taken.
    [
      '/valid thanks, confirmed',
      '/valid thanks, confirmed',
      '/valid takes nothing after it, but the line goes on with "thanks, confirmed": put other text on a line of its own.',
    ],
    [
      '/accept embargo',
      '/accept embargo',
      '/accept takes nothing after it, but the line goes on with "embargo": put other text on a line of its own. To accept an embargo proposal, write "/embargo accept".',
    ],
    [
      '/status please',
      '/status please',
      '/status takes nothing after it, but the line goes on with "please": put other text on a line of its own.',
    ],
    ['/close later', '/close later', '/close takes "adhere", "no-adhere" or nothing after it, not "later".'],
    [
      '/leave adhere now',
      '/leave adhere now',
      '/leave takes "adhere", "no-adhere" or nothing after it, not "adhere now".',
    ],
    // Embargo answers.
    [
      '/embargo accept X7',
      '/embargo accept X7',
      '"X7" is not an embargo proposal id: use the id from the proposal, e.g. "E2".',
    ],
    [
      '/embargo reject E0',
      '/embargo reject E0',
      '"E0" is not an embargo proposal id: use the id from the proposal, e.g. "E2".',
    ],
    [
      '/embargo accept E2 E3',
      '/embargo accept E2 E3',
      '/embargo accept takes at most one proposal id, e.g. "E2".',
    ],
    // Required arguments.
    ['/public', '/public', '/public needs a URL or a note, e.g. "/public https://example.com/advisory".'],
    [
      '/exploit-public',
      '/exploit-public',
      '/exploit-public needs a URL, e.g. "/exploit-public https://example.com/exploit".',
    ],
    ['/attacks', '/attacks', '/attacks needs a note, e.g. "/attacks seen in the wild by our SOC".'],
    // Addresses and roles.
    [
      '/invite alice@vendor.example',
      '/invite alice@vendor.example',
      '/invite needs an email address and a role, e.g. "/invite alice@vendor.example vendor".',
    ],
    [
      '/invite vendor alice@vendor.example',
      '/invite vendor alice@vendor.example',
      '/invite needs an email address and a role, e.g. "/invite alice@vendor.example vendor".',
    ],
    [
      '/invite alice@vendor.example manager',
      '/invite alice@vendor.example manager',
      '"manager" is not a role: use finder, reporter, vendor, deployer, coordinator or other.',
    ],
    ['/invite alice vendor', '/invite alice vendor', '"alice" is not an email address.'],
    ['/remove', '/remove', '/remove needs one email address, e.g. "/remove alice@vendor.example".'],
    ['/remove bob@localhost', '/remove bob@localhost', '"bob@localhost" is not an email address.'],
    [
      '/fix-ready a@vendor.example b@vendor.example',
      '/fix-ready a@vendor.example b@vendor.example',
      '/fix-ready takes at most one email address after it, e.g. "/fix-ready alice@vendor.example".',
    ],
    ['/deployed the-vendor', '/deployed the-vendor', '"the-vendor" is not an email address.'],
  ];
  it.each(cases)('%j', (text, line, error) => {
    expect(parse(text)).toEqual(bad(line, error));
  });
});

describe('one mail, several commands', () => {
  it('all command lines form one flag set, codes once each, in order; the rest is the note', () => {
    const mail = [
      'Hi all,',
      '',
      '/valid',
      '/accept',
      '',
      'We confirm the issue and will fix it.',
      '/embargo +30d',
      '/valid',
      '',
      'Regards',
    ].join('\n');
    expect(parse(mail)).toEqual(
      ok(
        ['RV', 'RA', 'EP'],
        {
          embargoEnd: '2027-02-09T23:59:59Z',
          text: 'Hi all,\n\nWe confirm the issue and will fix it.\n\nRegards',
        },
        ['/valid', '/accept', '/embargo +30d', '/valid'],
      ),
    );
  });

  it('a counter-proposal: reject one proposal and propose another end', () => {
    expect(parse('/embargo reject E2\n/embargo 2027-06-30')).toEqual(
      ok(['ER', 'EP'], { proposal: 'E2', embargoEnd: '2027-06-30T23:59:59Z' }, [
        '/embargo reject E2',
        '/embargo 2027-06-30',
      ]),
    );
  });

  it('the same end written twice in two forms is one proposal', () => {
    expect(parse('/embargo 2027-03-01\n/embargo 2027-03-01T23:59:59Z')).toEqual(
      ok(['EP'], { embargoEnd: '2027-03-01T23:59:59Z' }, [
        '/embargo 2027-03-01',
        '/embargo 2027-03-01T23:59:59Z',
      ]),
    );
  });

  it('CS events and a termination keep every reason, one per line', () => {
    expect(
      parse(
        '/public https://vendor.example/adv/1\n/exploit-public https://poc.example/1\n/public https://vendor.example/adv/1',
      ),
    ).toEqual(
      ok(['CP', 'CX'], { reason: 'https://vendor.example/adv/1\nhttps://poc.example/1' }, [
        '/public https://vendor.example/adv/1',
        '/exploit-public https://poc.example/1',
        '/public https://vendor.example/adv/1',
      ]),
    );
  });

  it('a coordinator relays fix and deployment for one vendor, and states adherence twice alike', () => {
    expect(
      parse(
        '/fix-ready alice@vendor.example\n/deployed ALICE@vendor.example\n/close no-adhere\n/leave no-adhere',
      ),
    ).toEqual(
      ok(['CF', 'CD', 'RC', 'GI'], { vendor: 'alice@vendor.example', adherence: 'no-adhere', leave: true }, [
        '/fix-ready alice@vendor.example',
        '/deployed ALICE@vendor.example',
        '/close no-adhere',
        '/leave no-adhere',
      ]),
    );
  });

  it('membership, status and help commands give GI once', () => {
    expect(parse('/invite carol@researcher.example finder\n/status\n/help')).toEqual(
      ok(
        ['GI'],
        { invite: { email: 'carol@researcher.example', role: 'finder' }, status: true, help: true },
        ['/invite carol@researcher.example finder', '/status', '/help'],
      ),
    );
  });

  it('one bad line voids the whole mail, and the first bad line is the one reported', () => {
    expect(parse('/valid\n/accept\n/embargoo 2027-03-01\n/defer\n/bogus')).toEqual(
      bad('/embargoo 2027-03-01', 'Unknown command "/embargoo". Did you mean "/embargo"?'),
    );
    expect(parse('/embargo +30d\nThanks\n/embargo 2027-02-30')).toEqual(
      bad('/embargo 2027-02-30', '"2027-02-30" is not a date in the calendar.'),
    );
  });

  const conflicts: [string, string, string][] = [
    [
      '/embargo 2027-03-01\n/embargo 2027-04-01',
      '/embargo 2027-04-01',
      'It conflicts with "/embargo 2027-03-01" earlier in this mail: one mail can propose only one embargo end.',
    ],
    [
      '/embargo\n/embargo +30d',
      '/embargo +30d',
      'It conflicts with "/embargo" earlier in this mail: one mail can propose only one embargo end.',
    ],
    [
      '/embargo accept E2\n/embargo accept E3',
      '/embargo accept E3',
      'It conflicts with "/embargo accept E2" earlier in this mail: one mail can answer only one embargo proposal.',
    ],
    [
      '/valid\n/invalid',
      '/invalid',
      'It contradicts "/valid" earlier in this mail: a report cannot be invalid and valid at once.',
    ],
    [
      '/defer\n/accept',
      '/accept',
      'It contradicts "/defer" earlier in this mail: a report cannot be deferred and accepted at once.',
    ],
    [
      '/embargo accept\n/embargo reject',
      '/embargo reject',
      'It contradicts "/embargo accept" earlier in this mail: one mail cannot accept and reject an embargo proposal.',
    ],
    [
      '/embargo terminate fixed\n/embargo +30d',
      '/embargo +30d',
      'It contradicts "/embargo terminate fixed" earlier in this mail: terminating the embargo and proposing one belong in separate mails.',
    ],
    [
      '/embargo accept\n/embargo terminate',
      '/embargo terminate',
      'It contradicts "/embargo accept" earlier in this mail: terminating the embargo and answering a proposal belong in separate mails.',
    ],
    [
      '/close adhere\n/leave no-adhere',
      '/leave no-adhere',
      'It conflicts with "/close adhere" earlier in this mail: one mail can state only one embargo adherence.',
    ],
    [
      '/fix-ready a@vendor.example\n/deployed b@vendor.example',
      '/deployed b@vendor.example',
      'It conflicts with "/fix-ready a@vendor.example" earlier in this mail: one mail can name only one vendor or deployer.',
    ],
    [
      '/invite a@vendor.example vendor\n/invite b@vendor.example vendor',
      '/invite b@vendor.example vendor',
      'It conflicts with "/invite a@vendor.example vendor" earlier in this mail: one mail can invite only one participant; send one mail per invitation.',
    ],
    [
      '/remove a@vendor.example\n/remove b@vendor.example',
      '/remove b@vendor.example',
      'It conflicts with "/remove a@vendor.example" earlier in this mail: one mail can remove only one participant; send one mail per removal.',
    ],
  ];
  it.each(conflicts)('conflict: %j', (text, line, error) => {
    expect(parse(text)).toEqual(bad(line, error));
  });
});

describe('the text that is not commands', () => {
  const cases: [string, string, ParseResult][] = [
    [
      'a mail without commands is a GI with its text',
      'Hi,\n\nwe are looking into it.\n',
      ok(['GI'], { text: 'Hi,\n\nwe are looking into it.' }, []),
    ],
    ['an empty mail is a GI without text', '  \n\n', ok(['GI'], {}, [])],
    ['commands only: no text', '/valid\n\n/accept\n', ok(['RV', 'RA'], {}, ['/valid', '/accept'])],
    [
      'blank lines around removed commands collapse into one',
      'Hello\n\n/valid\n\n\nBye\r\n',
      ok(['RV'], { text: 'Hello\n\nBye' }, ['/valid']),
    ],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(parse(text)).toEqual(expected);
  });
});

describe('the header channel (machine clients)', () => {
  const T = 'X-Vultron-Message-Types';
  const E = 'X-Vultron-Embargo-End';
  const cases: [string, string, ParseOptions['headers'], ParseResult][] = [
    [
      'a new report with an embargo',
      'Details of the report.',
      { messageTypes: 'RS, EP', embargoEnd: '2027-03-01' },
      ok(['RS', 'EP'], { embargoEnd: '2027-03-01T23:59:59Z', text: 'Details of the report.' }, [
        `${T}: RS, EP`,
        `${E}: 2027-03-01`,
      ]),
    ],
    [
      'codes in lower case, separated by commas and spaces',
      '',
      { messageTypes: ' rv,ra  CF ' },
      ok(['RV', 'RA', 'CF'], {}, [`${T}: rv,ra  CF`]),
    ],
    [
      'merged with command lines into one flag set',
      '/accept\n/valid',
      { messageTypes: 'RV' },
      ok(['RV', 'RA'], {}, [`${T}: RV`, '/accept', '/valid']),
    ],
    [
      'the end may come from an /embargo line',
      '/embargo +30d',
      { messageTypes: 'EP' },
      ok(['EP'], { embargoEnd: '2027-02-09T23:59:59Z' }, [`${T}: EP`, '/embargo +30d']),
    ],
    [
      'the same end in the header and a line',
      '/embargo 2027-03-01T23:59:59Z',
      { messageTypes: 'EP', embargoEnd: '2027-03-01' },
      ok(['EP'], { embargoEnd: '2027-03-01T23:59:59Z' }, [
        `${T}: EP`,
        `${E}: 2027-03-01`,
        '/embargo 2027-03-01T23:59:59Z',
      ]),
    ],
    [
      'a revision named by the client, with an offset',
      '',
      { messageTypes: 'EV', embargoEnd: '2027-03-01T16:00:00+02:00' },
      ok(['EV'], { embargoEnd: '2027-03-01T14:00:00Z' }, [`${T}: EV`, `${E}: 2027-03-01T16:00:00+02:00`]),
    ],
    [
      'an unknown code',
      '',
      { messageTypes: 'RS, XX' },
      bad(`${T}: RS, XX`, `"XX" in ${T} is not a Vultron message type.`),
    ],
    [
      'an empty header',
      '',
      { messageTypes: ' , ' },
      bad(`${T}: ,`, `${T} is empty: name at least one message type.`),
    ],
    [
      'EP without an end',
      'text',
      { messageTypes: 'RS, EP' },
      bad(`${T}: RS, EP`, `${T} names EP but no end: add ${E} (or an "/embargo <end>" line).`),
    ],
    [
      'an end without EP or EV',
      '',
      { messageTypes: 'RV', embargoEnd: '2027-03-01' },
      bad(`${E}: 2027-03-01`, `${E} is given but nothing is proposed: add EP (or EV) to ${T}.`),
    ],
    [
      'an end header alone',
      '/valid',
      { embargoEnd: '+30d' },
      bad(`${E}: +30d`, `${E} is given but nothing is proposed: add EP (or EV) to ${T}.`),
    ],
    [
      'an end without an offset',
      '',
      { messageTypes: 'EP', embargoEnd: '2027-03-01T16:00:00' },
      bad(
        `${E}: 2027-03-01T16:00:00`,
        '"2027-03-01T16:00:00" has no UTC offset: add "Z" for UTC or an offset such as "+02:00", e.g. "2027-03-01T16:00:00Z".',
      ),
    ],
    [
      'a different end in a line',
      '/embargo 2027-04-01',
      { messageTypes: 'EP', embargoEnd: '2027-03-01' },
      bad(
        '/embargo 2027-04-01',
        `It conflicts with "${E}: 2027-03-01" earlier in this mail: one mail can propose only one embargo end.`,
      ),
    ],
    [
      'contradicting codes in the header',
      '',
      { messageTypes: 'EA, ER' },
      bad(
        `${T}: EA, ER`,
        'EA and ER cannot go together: one mail cannot accept and reject an embargo proposal.',
      ),
    ],
    [
      'a header code contradicted by a line',
      '/valid',
      { messageTypes: 'RI' },
      bad(
        '/valid',
        `It contradicts "${T}: RI" earlier in this mail: a report cannot be invalid and valid at once.`,
      ),
    ],
    [
      'a bad command line still voids the mail',
      '/vaild',
      { messageTypes: 'RS' },
      bad('/vaild', 'Unknown command "/vaild". Did you mean "/valid"?'),
    ],
  ];
  it.each(cases)('%s', (_name, text, headers, expected) => {
    expect(parse(text, { headers })).toEqual(expected);
  });
});

describe('mapEmbargoCodes', () => {
  const cases: [EMState, MessageCode[], MessageCode[]][] = [
    ['NONE', ['RS', 'EP'], ['RS', 'EP']],
    ['PROPOSED', ['EP'], ['EP']],
    ['ACTIVE', ['RS', 'EP'], ['RS', 'EV']],
    ['REVISE', ['ER', 'EP'], ['ER', 'EV']],
    ['EXITED', ['EP'], ['EP']],
    ['ACTIVE', ['EV', 'EP'], ['EV']],
    // Whether an EA/ER answers a revision (EC/EJ) is decided by the core.
    ['REVISE', ['EA'], ['EA']],
    ['REVISE', ['ER', 'GI'], ['ER', 'GI']],
  ];
  it.each(cases)('%s: %j → %j', (em, codes, expected) => {
    expect(mapEmbargoCodes(codes, em)).toEqual(expected);
  });
});
