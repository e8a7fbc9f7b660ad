/**
 * Loading the configuration file: read JSON, apply secrets from the environment, validate
 * against the one schema, report every problem at once as `path.to.key: message` lines, and
 * resolve relative paths against the config file's folder (DESIGN.md §2 "CLI details").
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type * as z from 'zod';
import type { Policy } from '../protocol/policy.js';
import type { Config } from './schema.js';
import { ConfigSchema } from './schema.js';

export type LoadResult = { ok: true; config: Config } | { ok: false; issues: string[] };

/** Environment variables that override secrets of the config file. */
export const SECRET_ENV = {
  imapPass: 'VULTRON_MAIL_IMAP_PASS',
  smtpPass: 'VULTRON_MAIL_SMTP_PASS',
} as const;

const HINTS: Readonly<Record<string, string>> = {
  'imap.auth.pass': `required (or set ${SECRET_ENV.imapPass})`,
};

/** `['contacts', 0, 'email']` → `contacts[0].email` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const EXPECTED: Readonly<Record<string, string>> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'a list',
};

/** A short, safe rendering of a wrong value. */
function describeValue(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'an object';
  if (typeof input === 'string') return JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input);
  return String(input);
}

/** zod's default message for an issue, in the words of a config file; custom messages stay. */
function messageOf(issue: z.core.$ZodIssue, path: string): string {
  const isDefault = /^(Invalid input|Invalid option|Too small|Too big)\b/.test(issue.message);
  if (!isDefault) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return HINTS[path] ?? 'required';
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(issue.input)}`;
    case 'too_small': {
      const min = String(issue.minimum);
      if (issue.origin === 'array') return `must have at least ${min} item${min === '1' ? '' : 's'}`;
      if (issue.origin === 'string') return `must be at least ${min} characters long`;
      return issue.inclusive ? `must be at least ${min}` : `must be greater than ${min}`;
    }
    case 'too_big': {
      const max = String(issue.maximum);
      if (issue.origin === 'array') return `must have at most ${max} items`;
      if (issue.origin === 'string') return `must be at most ${max} characters long`;
      return issue.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
    }
    default:
      return issue.message;
  }
}

/** One line per problem, `path.to.key: message`; an unknown key is reported at its own path. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...issue.path, key])}: unknown key`);
      continue;
    }
    const path = formatPath(issue.path);
    lines.push(`${path === '' ? '(root)' : path}: ${messageOf(issue, path)}`);
  }
  return lines;
}

/** Validates an already parsed config object (secrets applied, paths not yet resolved). */
export function validateConfig(raw: unknown): LoadResult {
  const result = ConfigSchema.safeParse(raw, { reportInput: true });
  return result.success
    ? { ok: true, config: result.data }
    : { ok: false, issues: formatIssues(result.error.issues) };
}

/** `VULTRON_MAIL_IMAP_PASS` / `VULTRON_MAIL_SMTP_PASS` replace `imap.auth.pass` / `smtp.auth.pass`. */
function applySecrets(raw: unknown, env: NodeJS.ProcessEnv): void {
  if (!isRecord(raw)) return;
  const set = (section: string, value: string | undefined): void => {
    const obj = raw[section];
    if (value === undefined || value === '' || !isRecord(obj)) return;
    obj['auth'] = { ...(isRecord(obj['auth']) ? obj['auth'] : {}), pass: value };
  };
  set('imap', env[SECRET_ENV.imapPass]);
  set('smtp', env[SECRET_ENV.smtpPass]);
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 };
}

function parseJson(text: string, file: string): { ok: true; value: unknown } | { ok: false; issue: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /at position (\d+)/.exec(message);
    const offset =
      at?.[1] !== undefined ? Number(at[1]) : /end of JSON input/.test(message) ? text.length : null;
    const detail = message
      .replace(/\s*in JSON at position \d+.*$/s, '')
      .replace(/\s*\(line \d+ column \d+\)$/, '');
    if (offset === null) return { ok: false, issue: `${file}: invalid JSON: ${detail}` };
    const { line, column } = lineColumn(text, offset);
    return { ok: false, issue: `${file}:${line}:${column}: invalid JSON: ${detail}` };
  }
}

function resolveFrom(base: string, p: string): string {
  return p === ':memory:' || isAbsolute(p) ? p : resolve(base, p);
}

/**
 * Reads and validates the config file at `path`. Relative `store.path`, `outbox.directory`
 * and `templates.directory` are resolved against the file's folder.
 */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason =
      err instanceof Error && 'code' in err && err.code === 'ENOENT' ? 'no such file' : String(err);
    return { ok: false, issues: [`${path}: cannot read the config file: ${reason}`] };
  }
  const parsed = parseJson(text.replace(/^\uFEFF/, ''), path);
  if (!parsed.ok) return { ok: false, issues: [parsed.issue] };
  applySecrets(parsed.value, env);
  const result = validateConfig(parsed.value);
  if (!result.ok) return result;

  const base = dirname(resolve(path));
  const config = result.config;
  config.store.path = resolveFrom(base, config.store.path);
  if (config.outbox.directory !== undefined)
    config.outbox.directory = resolveFrom(base, config.outbox.directory);
  if (config.templates.directory !== undefined) {
    config.templates.directory = resolveFrom(base, config.templates.directory);
  }
  return { ok: true, config };
}

/** The `policy.*` keys as the protocol core's Policy. */
export function toPolicy(config: Config): Policy {
  const p = config.policy;
  return {
    quorum: p.quorum,
    embargo: { defaultDays: p.embargo.defaultDays, minHours: p.embargo.minHours, maxDays: p.embargo.maxDays },
    rsvpDays: p.rsvpDays,
    attacksImplyPublic: p.attacksImplyPublic,
    terminateOnAttacks: p.terminateOnAttacks,
    rejectPendingOnFixReady: p.rejectPendingOnFixReady,
    reminderDays: [...p.reminderDays],
    rsvpReminderHours: p.rsvpReminderHours,
    vendorResponseDays: p.vendorResponseDays,
  };
}
