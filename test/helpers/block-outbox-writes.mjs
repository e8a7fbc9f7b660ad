/**
 * Test-only preload (`node --import ./test/helpers/block-outbox-writes.mjs bin/vultron-mail.js …`):
 * every `fs/promises` open() of a path inside the directory named by
 * VULTRON_TEST_BLOCK_WRITES_IN never settles, and the process then stays alive, so the CLI hangs
 * right after its database commit, before the directory transport writes the first .eml file.
 * The test kills it there (SIGKILL): a crash between commit and send.
 *
 * The DirectoryTransport imports `open` by name (`import { open } from 'node:fs/promises'`);
 * syncBuiltinESMExports() makes that named binding see the patched function.
 */
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { resolve, sep } from 'node:path';
import { setInterval } from 'node:timers';

const blocked = process.env.VULTRON_TEST_BLOCK_WRITES_IN;
if (blocked) {
  const dir = resolve(blocked) + sep;
  const original = fsp.open;
  fsp.open = function open(path, ...rest) {
    if (resolve(String(path)).startsWith(dir)) {
      // A pending promise alone would let the process exit: keep the event loop busy.
      setInterval(() => undefined, 60_000);
      process.stderr.write(`blocked: open ${String(path)}\n`);
      return new Promise(() => undefined);
    }
    return original.call(this, path, ...rest);
  };
  syncBuiltinESMExports();
}
