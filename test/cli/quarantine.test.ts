/** `quarantine` listing (the JSON contract), `drop` and the checks of `release`. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Sandbox } from './helpers.js';
import { NOW, jsonOf, sandbox } from './helpers.js';

let s: Sandbox;
beforeEach(async () => {
  s = await sandbox();
});
afterEach(() => s.cleanup());

/** Holds a message directly through the store, as the inbound pipeline would. */
function hold(messageId: string | null, from: string | null, reason: string, at = NOW): number {
  const store = openSqliteStore(s.db);
  try {
    const rawId = store.addRawMessage(messageId, Buffer.from(`Message-ID: ${messageId}\r\n\r\nhi\r\n`), at);
    return store.addQuarantine({ messageId, from, reason, at, detail: `held: ${reason}`, rawId });
  } finally {
    store.close();
  }
}

describe('quarantine', () => {
  it('--json: exactly id, messageId, from, reason, at, oldest first', async () => {
    expect(jsonOf(await s.cli('quarantine', '--json'))).toEqual([]);
    const a = hold('<q1@evil.example>', 'stranger@evil.example', 'not-a-participant');
    const b = hold(null, null, 'malformed', '2026-03-02T11:00:00Z');
    const list = jsonOf<Array<Record<string, unknown>>>(await s.cli('quarantine', '--json'));
    for (const e of list) expect(Object.keys(e).sort()).toEqual(['at', 'from', 'id', 'messageId', 'reason']);
    expect(list).toEqual([
      {
        id: a,
        messageId: '<q1@evil.example>',
        from: 'stranger@evil.example',
        reason: 'not-a-participant',
        at: NOW,
      },
      { id: b, messageId: null, from: null, reason: 'malformed', at: '2026-03-02T11:00:00Z' },
    ]);

    const text = await s.cli('quarantine');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ID +AT +REASON +FROM +MESSAGE-ID +DETAIL$/m);
    expect(text.stdout).toMatch(new RegExp(`^${a} +${NOW} +not-a-participant +stranger@evil\\.example`, 'm'));
  });

  it('the text listing of an empty quarantine says so', async () => {
    expect(await s.cli('quarantine')).toEqual({ code: 0, stdout: 'quarantine is empty\n', stderr: '' });
  });

  it('drop removes the entry; an unknown id is a handled failure', async () => {
    const id = hold('<q2@evil.example>', 'stranger@evil.example', 'unauthenticated');
    expect(await s.cli('quarantine', 'drop', String(id))).toEqual({
      code: 0,
      stdout: `dropped quarantine entry ${id} (unauthenticated, from stranger@evil.example)\n`,
      stderr: '',
    });
    expect(jsonOf(await s.cli('quarantine', '--json'))).toEqual([]);
    expect(await s.cli('quarantine', 'drop', String(id))).toEqual({
      code: 1,
      stdout: '',
      stderr: `vultron-mail: no quarantine entry ${id}\n`,
    });
  });

  it('release of an unknown id is a handled failure; a non-number is bad usage', async () => {
    expect(await s.cli('--now', NOW, 'quarantine', 'release', '42')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'vultron-mail: no quarantine entry 42\n',
    });
    expect((await s.cli('quarantine', 'release', 'abc')).code).toBe(2);
    expect((await s.cli('quarantine', 'drop', '0')).code).toBe(2);
    expect((await s.cli('quarantine', 'frobnicate')).code).toBe(2);
  });
});
