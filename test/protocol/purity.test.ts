/**
 * DESIGN.md §1 "The protocol core is pure": nothing under src/protocol may import Node.js,
 * a package or another part of the project, read the clock, draw random numbers or start
 * timers. The sources are parsed with the TypeScript compiler, so comments and strings
 * that merely mention `Date.now()` or `setTimeout` do not count, and every import form
 * (static, re-export, `import type`, `import x = require()`, dynamic `import()`, `require()`,
 * `import('x').T` in a type) is seen.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const PROTOCOL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/protocol');

/** Named explicitly by the rule, on top of everything `node:module` lists as built in. */
const NODE_BUILTINS = new Set([
  'fs',
  'path',
  'os',
  'net',
  'http',
  'https',
  'child_process',
  'crypto',
  'process',
  'worker_threads',
  'dns',
  'tls',
  'stream',
  ...builtinModules,
]);

type Rule =
  | 'node-module'
  | 'node-builtin'
  | 'package'
  | 'outside-protocol'
  | 'computed-import'
  | 'Date.now'
  | 'new Date()'
  | 'Date()'
  | 'Math.random'
  | 'process'
  | 'setTimeout'
  | 'setInterval';

interface Violation {
  file: string;
  line: number;
  rule: Rule;
  text: string;
}

function specifierRule(fromFile: string, specifier: string): Rule | undefined {
  if (specifier.startsWith('node:')) return 'node-module';
  if (NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0] as string))
    return 'node-builtin';
  const isRelative = specifier === '.' || specifier === '..' || /^\.\.?\//.test(specifier);
  if (!isRelative && !isAbsolute(specifier)) return 'package';
  const rel = relative(PROTOCOL_DIR, resolve(dirname(fromFile), specifier));
  if (rel === '..' || rel.startsWith('../') || rel.startsWith('..\\') || isAbsolute(rel))
    return 'outside-protocol';
  return undefined;
}

/** `globalThis.x`, `window.x`, `self.x` and plain `x` all reach the global `x`. */
function globalName(node: ts.Expression): string | undefined {
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isParenthesizedExpression(node)) return globalName(node.expression);
  if (
    ts.isPropertyAccessExpression(node) &&
    ts.isIdentifier(node.expression) &&
    ['globalThis', 'window', 'self', 'global'].includes(node.expression.text)
  )
    return node.name.text;
  return undefined;
}

/** The property name of `a.b` or `a['b']`. */
function memberName(node: ts.Node): { object: ts.Expression; name: string } | undefined {
  if (ts.isPropertyAccessExpression(node)) return { object: node.expression, name: node.name.text };
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression))
    return { object: node.expression, name: node.argumentExpression.text };
  return undefined;
}

/** Every violation of the purity rule in one source text (`fileName` locates relative imports). */
function checkPurity(fileName: string, source: string): Violation[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Violation[] = [];
  const report = (node: ts.Node, rule: Rule) =>
    found.push({
      file: fileName,
      line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
      rule,
      text: node.getText(sf).slice(0, 120),
    });
  const checkSpecifier = (node: ts.Node, spec: ts.Node | undefined) => {
    if (spec === undefined) return;
    if (!ts.isStringLiteralLike(spec)) return report(node, 'computed-import');
    const rule = specifierRule(fileName, spec.text);
    if (rule) report(node, rule);
  };

  const visit = (node: ts.Node): void => {
    // Imports of every form.
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node))
      checkSpecifier(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      checkSpecifier(node, node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      checkSpecifier(node, node.argument.literal);
    else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword || globalName(node.expression) === 'require')
        checkSpecifier(node, node.arguments[0] ?? node);
      if (globalName(node.expression) === 'Date') report(node, 'Date()');
    }

    // The clock, randomness, the process, timers.
    if (
      ts.isNewExpression(node) &&
      globalName(node.expression) === 'Date' &&
      (node.arguments?.length ?? 0) === 0
    )
      report(node, 'new Date()');
    const member = memberName(node);
    if (member) {
      const object = globalName(member.object);
      if (object === 'Date' && member.name === 'now') report(node, 'Date.now');
      if (object === 'Math' && member.name === 'random') report(node, 'Math.random');
      if (object === 'process') report(node, 'process');
    }
    if (ts.isIdentifier(node) && (node.text === 'setTimeout' || node.text === 'setInterval')) {
      report(node, node.text as Rule);
    }
    if (
      ts.isIdentifier(node) &&
      node.text === 'process' &&
      ts.isPropertyAccessExpression(node.parent) &&
      node.parent.name === node &&
      globalName(node.parent) === 'process'
    )
      report(node.parent, 'process'); // globalThis.process
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function protocolSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return protocolSources(path);
    return /\.[cm]?ts$/.test(entry.name) ? [path] : [];
  });
}

describe('the checker itself', () => {
  const fake = join(PROTOCOL_DIR, 'synthetic.ts');
  const rulesOf = (source: string) => checkPurity(fake, source).map((v) => v.rule);

  it.each([
    ["import { readFileSync } from 'node:fs';", 'node-module'],
    ["import fs from 'fs';", 'node-builtin'],
    ["import { join } from 'path';", 'node-builtin'],
    ["import * as os from 'os';", 'node-builtin'],
    ["import net from 'net';", 'node-builtin'],
    ["import http from 'http';", 'node-builtin'],
    ["import https from 'https';", 'node-builtin'],
    ["import { spawn } from 'child_process';", 'node-builtin'],
    ["import { randomUUID } from 'crypto';", 'node-builtin'],
    ["import process from 'process';", 'node-builtin'],
    ["import { Worker } from 'worker_threads';", 'node-builtin'],
    ["import dns from 'dns';", 'node-builtin'],
    ["import tls from 'tls';", 'node-builtin'],
    ["import { Readable } from 'stream';", 'node-builtin'],
    ["import { readFile } from 'fs/promises';", 'node-builtin'],
    ["import { z } from 'zod';", 'package'],
    ["import type { Foo } from '@scope/pkg';", 'package'],
    ["export * from 'lodash';", 'package'],
    ["import x = require('nodemailer');", 'package'],
    ["const m = await import('imapflow');", 'package'],
    ["const m = require('fs');", 'node-builtin'],
    ["type T = import('node:fs').Stats;", 'node-module'],
    ["const m = await import('./' + name);", 'computed-import'],
    ["import type { CaseStore } from '../store/port.js';", 'outside-protocol'],
    ["export { x } from '../../src/case/service.js';", 'outside-protocol'],
    ["import '../index.js';", 'outside-protocol'],
    ["import { y } from '/etc/passwd';", 'outside-protocol'],
    ['const t = Date.now();', 'Date.now'],
    ["const t = Date['now']();", 'Date.now'],
    ['const d = new Date();', 'new Date()'],
    ['const d = new Date;', 'new Date()'],
    ['const s = Date();', 'Date()'],
    ['const r = Math.random();', 'Math.random'],
    ['const r = globalThis.Math.random();', 'Math.random'],
    ['const e = process.env.HOME;', 'process'],
    ['process.exit(1);', 'process'],
    ['const e = globalThis.process.env;', 'process'],
    ['setTimeout(() => 1, 10);', 'setTimeout'],
    ['const h = setInterval(tick, 1000);', 'setInterval'],
    ['globalThis.setTimeout(f, 1);', 'setTimeout'],
  ] as const)('flags %s as %s', (source, rule) => {
    expect(rulesOf(source)).toContain(rule);
  });

  it('accepts what the core legitimately does, including mentions in comments and strings', () => {
    const clean = [
      "import type { RMState } from './vocabulary.js';",
      "import { RM_EDGES } from './rm.js';",
      "export * from './cs.js';",
      "import { x } from './sub/dir/x.js';",
      '// Never Date.now(), new Date(), Math.random(), process.env, setTimeout or setInterval here.',
      '/* import fs from "node:fs"; */',
      "const note = 'timers are data, not setTimeout; process.env is not read';",
      'const d = new Date(0);',
      "const e = new Date('2027-03-01T23:59:59Z');",
      'const iso = (now: Date) => now.toISOString();',
      'const n = Math.max(1, 2) + Date.parse("2027-01-01");',
      'const o = { process: 1 }; const p = o.process;',
    ].join('\n');
    expect(checkPurity(fake, clean)).toEqual([]);
  });

  it('reports the line of each violation', () => {
    const source = "import type { T } from './vocabulary.js';\n\nconst t = Date.now();\n";
    expect(checkPurity(fake, source)).toEqual([{ file: fake, line: 3, rule: 'Date.now', text: 'Date.now' }]);
  });
});

describe('src/protocol is pure (DESIGN.md §1)', () => {
  const files = protocolSources(PROTOCOL_DIR);

  it('finds the protocol sources', () => {
    const names = files.map((f) => relative(PROTOCOL_DIR, f));
    for (const name of ['vocabulary.ts', 'rm.ts', 'em.ts', 'cs.ts', 'pec.ts']) expect(names).toContain(name);
  });

  it.each(files.map((f) => [relative(PROTOCOL_DIR, f), f] as const))(
    '%s imports nothing outside src/protocol and reads no clock, randomness, process or timers',
    (_name, file) => {
      expect(checkPurity(file, readFileSync(file, 'utf8'))).toEqual([]);
    },
  );
});
