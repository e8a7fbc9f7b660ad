import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaseSnapshot, Proposal } from '../../src/protocol/index.js';
import { embargoUid, newCase, newParticipant } from '../../src/protocol/index.js';
import type { NewOutboxRow } from '../../src/store/port.js';

/** A fresh temporary folder; `cleanup()` removes it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'vultron-mail-store-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const NOW = '2026-03-02T10:00:00Z';

/** A case with a reporter, a vendor, an active embargo, a pending revision and two log entries. */
export function sampleCase(id = 'VM-2026-0001'): CaseSnapshot {
  const s = newCase({
    id,
    title: 'Heap overflow in libexample',
    now: NOW,
    domain: 'cvd.example.org',
    coordinators: [{ email: 'Coord@CVD.example.org', name: 'Coordinator' }],
  });
  s.participants.push(newParticipant('finder@example.net', ['finder', 'reporter'], NOW, { rm: 'ACCEPTED' }));
  s.participants.push(
    newParticipant('psirt@vendor.example', ['vendor'], NOW, { name: 'Vendor PSIRT', maxEmbargoDays: 30 }),
  );
  const proposal = (
    n: number,
    end: string,
    status: Proposal['status'],
    kind: Proposal['kind'],
  ): Proposal => ({
    id: `E${n}`,
    n,
    end,
    proposer: 'finder@example.net',
    kind,
    status,
    uid: embargoUid(id, n, s.domain),
    sequence: 0,
    acceptedBy: status === 'accepted' ? ['psirt@vendor.example'] : [],
    declinedBy: [],
    proposedAt: NOW,
    rsvpDeadline: '2026-03-09T10:00:00Z',
    counterTo: null,
    decidedAt: status === 'accepted' ? '2026-03-03T08:30:00Z' : null,
  });
  s.em = 'REVISE';
  s.pxa = 'pXa';
  s.embargo = {
    end: '2026-04-15T23:59:59Z',
    active: 'E1',
    proposals: [
      proposal(1, '2026-04-15T23:59:59Z', 'accepted', 'proposal'),
      proposal(2, '2026-04-01T23:59:59Z', 'pending', 'revision'),
    ],
  };
  s.log.push(
    { at: NOW, kind: 'inbound', from: 'finder@example.net', types: ['RS', 'EP'], detail: 'first report' },
    { at: '2026-03-03T08:30:00Z', kind: 'inbound', from: 'psirt@vendor.example', types: ['EA'], detail: '' },
  );
  return s;
}

export function outboxRow(over: Partial<NewOutboxRow> = {}): NewOutboxRow {
  return {
    caseId: 'VM-2026-0001',
    to: ['finder@example.net'],
    subject: '[VM-2026-0001] Report received',
    types: ['RK'],
    messageId: '<rk-1@cvd.example.org>',
    calendarMethod: null,
    raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
    envelopeFrom: 'bounces+1@cvd.example.org',
    createdAt: NOW,
    nextAttemptAt: NOW,
    ...over,
  };
}
