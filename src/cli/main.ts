/**
 * The `vultron-mail` command line (DESIGN.md §5). `main(argv)` returns the exit code:
 * 0 success, 1 a handled failure (one-line reason on stderr), 2 bad usage.
 */
import { Command, CommanderError } from 'commander';
import { renderTables } from './tables.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

export function buildProgram(io: Io): Command {
  const program = new Command('vultron-mail')
    .description('Email/iCalendar gateway for multi-party coordinated vulnerability disclosure (Vultron)')
    .option('--config <file>', 'configuration file (default ./config.json or $VULTRON_MAIL_CONFIG)')
    .option('--now <instant>', 'the clock for this run (RFC 3339)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('tables')
    .description("print the protocol's message types and state machines")
    .action(() => {
      io.stdout(renderTables());
    });
  return program;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT_OK; // --help, --version
      return EXIT_USAGE;
    }
    io.stderr(`vultron-mail: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}
