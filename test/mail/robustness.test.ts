/**
 * No input crashes the mail layer (DESIGN.md §6): arbitrary bodies built from the pieces that
 * matter (command words, dates, quote markers, separators, attributions) never throw, and
 * the results keep their shape.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommands } from '../../src/mail/commands.js';
import { extractNewText } from '../../src/mail/newtext.js';
import { isMessageCode } from '../../src/protocol/vocabulary.js';

const piece = fc.constantFrom(
  '/valid',
  '/embargo',
  '/embargo ',
  '/embargo accept',
  '/invite',
  '/close',
  '/leave',
  '/public',
  '/fix-ready',
  '/usr/lib',
  '/',
  ' ',
  '\t',
  '\u00a0',
  '\n',
  '\r\n',
  '>',
  '-- ',
  '--',
  '-----Original Message-----',
  'From: a@b.example',
  'Sent: Monday',
  'Subject: x',
  'On 2 Apr 2012, Bob wrote:',
  'Am 2.4.12 schrieb Bob:',
  'wrote:',
  '2027-03-01',
  'T16:00:00',
  '+02:00',
  'Z',
  '+30d',
  'E2',
  'adhere',
  'no-adhere',
  'vendor',
  'alice@vendor.example',
  '<mailto:alice@vendor.example>',
  'x',
);
const body = fc.oneof(
  fc.array(piece, { maxLength: 40 }).map((p) => p.join('')),
  fc.string({ maxLength: 200 }),
);
const headers = fc.option(
  fc.record(
    {
      messageTypes: fc.oneof(
        fc.constantFrom('RS, EP', 'EV', 'XX', '', 'ra,rv'),
        fc.string({ maxLength: 20 }),
      ),
      embargoEnd: fc.oneof(
        fc.constantFrom('2027-03-01', '+30d', '2027-02-30', ''),
        fc.string({ maxLength: 20 }),
      ),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

describe('robustness', () => {
  it('extractNewText never throws and keeps only lines of the input', () => {
    fc.assert(
      fc.property(body, (text) => {
        const out = extractNewText(text);
        const input = new Set(text.replace(/\r\n?/g, '\n').split('\n'));
        for (const line of out.split('\n')) {
          if (line !== '') expect([...input].some((l) => l.includes(line))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parseCommands never throws and returns a flag set of known codes, or one error line', () => {
    fc.assert(
      fc.property(body, headers, (text, hdrs) => {
        const result = parseCommands(text, {
          arrivedAt: '2027-01-10T09:00:00Z',
          policy: { embargo: { defaultDays: 45 } },
          ...(hdrs === undefined ? {} : { headers: hdrs }),
        });
        if (result.ok) {
          expect(result.codes.length).toBeGreaterThan(0);
          expect(result.codes.every(isMessageCode)).toBe(true);
          expect(new Set(result.codes).size).toBe(result.codes.length);
          if (result.payload.embargoEnd !== undefined) {
            expect(result.payload.embargoEnd).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
          }
        } else {
          expect(result.line).not.toBe('');
          expect(result.error).not.toBe('');
        }
      }),
      { numRuns: 500 },
    );
  });
});
