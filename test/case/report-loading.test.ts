/**
 * The case service reads a case's stored reports (with their attachments, which can be tens of
 * megabytes) only when it renders a mail that carries a report: a note to the case does not
 * load them, inviting a vendor does, once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../../src/cli/app.js';
import { openApp } from '../../src/cli/app.js';
import type { Sandbox } from '../cli/helpers.js';
import { COORDINATOR, sandbox } from '../cli/helpers.js';

const FINDER = 'alice@finder.example';
const VENDOR = 'psirt@vendor-a.example';

let box: Sandbox;
let app: App;

beforeEach(async () => {
  box = await sandbox();
  app = openApp(box.config, {});
});

afterEach(async () => {
  await app.close();
  box.cleanup();
});

describe('reports are read from the store only for a mail that carries one', () => {
  it('a note does not load the reports; an invitation renders the report with its attachment', async () => {
    const opened = await app.service.openCase(
      { kind: 'report', from: { email: FINDER }, codes: ['RS'], payload: {} },
      {
        now: '2026-03-02T10:00:00Z',
        title: 'Heap overflow',
        inbound: null,
        report: {
          from: FINDER,
          subject: 'Heap overflow',
          text: 'details',
          attachments: [
            {
              filename: 'poc.bin',
              contentType: 'application/octet-stream',
              content: Buffer.from('POC-BYTES'),
            },
          ],
        },
      },
    );
    const reads = vi.spyOn(app.store, 'getReports');

    await app.service.apply(
      opened.caseId,
      { kind: 'message', from: FINDER, codes: ['GI'], payload: { text: 'one more detail' } },
      { now: '2026-03-02T11:00:00Z', inbound: null },
    );
    expect(reads).not.toHaveBeenCalled();

    const invited = await app.service.apply(
      opened.caseId,
      {
        kind: 'message',
        from: COORDINATOR,
        codes: ['GI'],
        payload: { invite: { email: VENDOR, role: 'vendor' } },
      },
      { now: '2026-03-02T12:00:00Z', inbound: null },
    );
    expect(reads).toHaveBeenCalledTimes(1);
    const toVendor = app.store
      .listOutbox()
      .filter((r) => invited.outbox.includes(r.id) && r.to[0] === VENDOR);
    expect(toVendor.map((r) => r.types)).toEqual([['RS']]);
    const raw = toVendor[0]?.raw.toString('latin1') ?? '';
    expect(raw).toContain('filename=poc.bin');
    expect(raw).toContain(Buffer.from('POC-BYTES').toString('base64'));
  });
});
