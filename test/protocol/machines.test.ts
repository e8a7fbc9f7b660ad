/**
 * The four protocol machines against PROTOCOL.md, with every expected value written out
 * literally from the spec (never derived from the code under test).
 */
import { describe, expect, it } from 'vitest';
import { RM_EDGES, RM_TARGET_OF, rmMove, rmPath, rmStep } from '../../src/protocol/rm.js';
import type { RMMove, RMSymbol } from '../../src/protocol/rm.js';
import { EM_EDGES, emEdge, emStep, isInForce, isNegotiating } from '../../src/protocol/em.js';
import type { EMSymbol } from '../../src/protocol/em.js';
import {
  CS_EVENTS,
  CS_STATES,
  csNext,
  csSuccessors,
  isForced,
  isViable,
  pxaApply,
  pxaHas,
  vfdApply,
  vfdHas,
} from '../../src/protocol/cs.js';
import type { CSEvent, CSState, PXAEvent, VFDEvent } from '../../src/protocol/cs.js';
import { pecStep } from '../../src/protocol/pec.js';
import type { PECSymbol } from '../../src/protocol/pec.js';
import {
  EM_IN_FORCE,
  EM_STATES,
  PEC_STATES,
  PXA_STATES,
  RM_STATES,
  VFD_STATES,
} from '../../src/protocol/vocabulary.js';
import type { EMState, MessageCode, PEC, PXA, RMState, VFD } from '../../src/protocol/vocabulary.js';

/** All strings of length `n` over `alphabet`. */
function* words(alphabet: readonly string[], n: number): Generator<string> {
  if (n === 0) {
    yield '';
    return;
  }
  for (const prefix of words(alphabet, n - 1)) for (const a of alphabet) yield prefix + a;
}

/** All strings of length 0..max over `alphabet`. */
function* wordsUpTo(alphabet: readonly string[], max: number): Generator<string> {
  for (let n = 0; n <= max; n++) yield* words(alphabet, n);
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((head, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [head, ...rest]),
  );
}

/**
 * Parses a right-linear grammar written as in PROTOCOL.md (`S→rR; R→vV|iI; C→ε`) into
 * nonterminal → list of [terminal, next nonterminal] | 'ε'.
 */
function parseGrammar(text: string): Map<string, Array<readonly [string, string] | 'ε'>> {
  const rules = new Map<string, Array<readonly [string, string] | 'ε'>>();
  for (const rule of text.split(';')) {
    const [lhs, rhs] = rule.split('→').map((s) => s.trim());
    if (!lhs || !rhs) throw new Error(`bad rule ${rule}`);
    rules.set(
      lhs,
      rhs.split('|').map((alt) => {
        if (alt === 'ε') return 'ε';
        if (alt.length !== 2) throw new Error(`bad alternative ${alt}`);
        return [alt[0] as string, alt[1] as string] as const;
      }),
    );
  }
  return rules;
}

/** The words of length ≤ max the grammar derives from `start` (an oracle independent of the DFA). */
function grammarLanguage(
  rules: Map<string, Array<readonly [string, string] | 'ε'>>,
  start: string,
  max: number,
): Set<string> {
  const out = new Set<string>();
  let frontier: Array<[string, string]> = [['', start]];
  for (let n = 0; n <= max; n++) {
    const next: Array<[string, string]> = [];
    for (const [word, nt] of frontier) {
      for (const alt of rules.get(nt) ?? []) {
        if (alt === 'ε') out.add(word);
        else if (n < max) next.push([word + alt[0], alt[1]]);
      }
    }
    frontier = next;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// RM (PROTOCOL.md §1)
// ---------------------------------------------------------------------------------------------

const RM_OF_LETTER: Readonly<Record<string, RMState>> = {
  S: 'START',
  R: 'RECEIVED',
  I: 'INVALID',
  V: 'VALID',
  D: 'DEFERRED',
  A: 'ACCEPTED',
  C: 'CLOSED',
};
const RM_SYMBOL_OF_LETTER: Readonly<Record<string, RMSymbol>> = {
  r: 'receive',
  v: 'validate',
  i: 'invalidate',
  a: 'accept',
  d: 'defer',
  c: 'close',
};
const RM_SYMBOLS = Object.values(RM_SYMBOL_OF_LETTER);
const rmState = (letter: string): RMState => RM_OF_LETTER[letter] as RMState;
const rmSymbol = (letter: string): RMSymbol => RM_SYMBOL_OF_LETTER[letter] as RMSymbol;

/** PROTOCOL.md §1.2, copied literally: # | From | Symbol | To | message emitted. */
const RM_SPEC_TABLE: ReadonlyArray<readonly [number, string, string, string, MessageCode | null]> = [
  [1, 'S', 'r', 'R', null],
  [2, 'R', 'v', 'V', 'RV'],
  [3, 'R', 'i', 'I', 'RI'],
  [4, 'I', 'v', 'V', 'RV'],
  [5, 'V', 'a', 'A', 'RA'],
  [6, 'V', 'd', 'D', 'RD'],
  [7, 'A', 'd', 'D', 'RD'],
  [8, 'D', 'a', 'A', 'RA'],
  [9, 'A', 'c', 'C', 'RC'],
  [10, 'D', 'c', 'C', 'RC'],
  [11, 'I', 'c', 'C', 'RC'],
];
const RM_GRAMMAR = 'S→rR; R→vV|iI; I→vV|cC; V→aA|dD; A→dD|cC; D→aA|cC; C→ε';
/** PROTOCOL.md §1.5. */
const RM_SHORTEST_TRACES = [
  'ric',
  'rvac',
  'rvdc',
  'rivac',
  'rivdc',
  'rvadc',
  'rvdac',
  'rivadc',
  'rvadac',
  'rvdadc',
  'rivdac',
  'rivdadc',
  'rvdadac',
  'rivadac',
  'rvadadc',
];

/** Runs the RM DFA over a word of symbol letters from START; undefined once a symbol is refused. */
function rmRun(word: string): RMState | undefined {
  let state: RMState | undefined = 'START';
  for (const letter of word) {
    if (state === undefined) return undefined;
    state = rmStep(state, rmSymbol(letter));
  }
  return state;
}

describe('RM machine (PROTOCOL.md §1)', () => {
  const edgeKey = (from: RMState, symbol: RMSymbol, to: RMState, emits: MessageCode | null) =>
    `${from} --${symbol}--> ${to} [${emits ?? 'none'}]`;

  it('has exactly the 11 edges of §1.2, with the messages they emit', () => {
    expect(RM_SPEC_TABLE).toHaveLength(11);
    expect(RM_EDGES).toHaveLength(11);
    const expected = RM_SPEC_TABLE.map(([, f, s, t, m]) => edgeKey(rmState(f), rmSymbol(s), rmState(t), m));
    const actual = RM_EDGES.map((e) => edgeKey(e.from, e.symbol, e.to, e.emits));
    expect(new Set(actual).size).toBe(11);
    expect([...actual].sort()).toEqual([...expected].sort());
  });

  it('is deterministic: at most one edge per (state, symbol)', () => {
    const keys = RM_EDGES.map((e) => `${e.from}/${e.symbol}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each(RM_SPEC_TABLE)('edge #%i: %s --%s--> %s', (_n, f, s, t) => {
    expect(rmStep(rmState(f), rmSymbol(s))).toBe(rmState(t));
  });

  it('rmStep is undefined for every (state, symbol) pair not in §1.2', () => {
    const allowed = new Set(RM_SPEC_TABLE.map(([, f, s]) => `${rmState(f)}/${rmSymbol(s)}`));
    for (const state of RM_STATES) {
      for (const symbol of RM_SYMBOLS) {
        if (!allowed.has(`${state}/${symbol}`))
          expect(rmStep(state, symbol), `${state}/${symbol}`).toBeUndefined();
      }
    }
  });

  it.each([
    ['V → C directly (MUST NOT)', 'VALID', 'CLOSED'],
    ['V → I', 'VALID', 'INVALID'],
    ['A → I', 'ACCEPTED', 'INVALID'],
    ['D → I', 'DEFERRED', 'INVALID'],
    ['D → V', 'DEFERRED', 'VALID'],
    ['A → V', 'ACCEPTED', 'VALID'],
  ] as const)('forbidden move %s is not an edge', (_label, from, to) => {
    expect(RM_EDGES.filter((e) => e.from === from && e.to === to)).toEqual([]);
    for (const symbol of RM_SYMBOLS) expect(rmStep(from, symbol)).not.toBe(to);
  });

  it('no edge leaves CLOSED, and R is entered only from S', () => {
    expect(RM_EDGES.filter((e) => e.from === 'CLOSED')).toEqual([]);
    for (const symbol of RM_SYMBOLS) expect(rmStep('CLOSED', symbol)).toBeUndefined();
    expect(RM_EDGES.filter((e) => e.to === 'RECEIVED').map((e) => e.from)).toEqual(['START']);
    expect(RM_EDGES.filter((e) => e.to === 'START')).toEqual([]);
  });

  it('matches the right-linear grammar of §1.2', () => {
    const rules = parseGrammar(RM_GRAMMAR);
    expect([...rules.keys()].sort()).toEqual(Object.keys(RM_OF_LETTER).sort());
    const fromGrammar: string[] = [];
    for (const [lhs, alts] of rules) {
      for (const alt of alts) {
        if (alt === 'ε')
          expect(lhs).toBe('C'); // C is the only accepting state
        else fromGrammar.push(`${rmState(lhs)}/${rmSymbol(alt[0])}/${rmState(alt[1])}`);
      }
    }
    expect(fromGrammar).toHaveLength(11);
    expect(RM_EDGES.map((e) => `${e.from}/${e.symbol}/${e.to}`).sort()).toEqual(fromGrammar.sort());
  });

  describe('complete traces (§1.5)', () => {
    const MAX = 8;
    const accepted = new Set<string>();
    for (const word of wordsUpTo(Object.keys(RM_SYMBOL_OF_LETTER), MAX)) {
      if (rmRun(word) === 'CLOSED') accepted.add(word);
    }

    it('the 15 listed traces are exactly the accepted words of length ≤ 7 (all 6^n words enumerated)', () => {
      expect(RM_SHORTEST_TRACES).toHaveLength(15);
      expect(new Set(RM_SHORTEST_TRACES).size).toBe(15);
      expect(Math.max(...RM_SHORTEST_TRACES.map((t) => t.length))).toBe(7);
      const shortest = [...accepted].filter((w) => w.length <= 7);
      expect(shortest.sort()).toEqual([...RM_SHORTEST_TRACES].sort());
    });

    it('per length: 1 trace of length 3, 2 of length 4, 4 each of lengths 5, 6, 7 and 8; none shorter', () => {
      const byLength = (n: number) => [...accepted].filter((w) => w.length === n).length;
      expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map(byLength)).toEqual([0, 0, 0, 1, 2, 4, 4, 4, 4]);
    });

    it('the DFA, the grammar and "longer traces only add a/d cycles before c" agree up to length 8', () => {
      const grammar = grammarLanguage(parseGrammar(RM_GRAMMAR), 'S', MAX);
      expect([...accepted].sort()).toEqual([...grammar].sort());
      // r, then ic, or an optional i, v, a non-empty alternation of a/d, c.
      const shape = /^r(?:ic|i?v(?:a(?:da)*d?|d(?:ad)*a?)c)$/;
      const byShape = [...wordsUpTo(Object.keys(RM_SYMBOL_OF_LETTER), MAX)].filter((w) => shape.test(w));
      expect([...accepted].sort()).toEqual(byShape.sort());
    });

    it('the accepting state is only CLOSED: every listed trace ends there and no prefix does', () => {
      for (const trace of RM_SHORTEST_TRACES) {
        expect(rmRun(trace)).toBe('CLOSED');
        for (let i = 0; i < trace.length; i++) expect(rmRun(trace.slice(0, i))).not.toBe('CLOSED');
      }
    });
  });

  describe('rmMove (DESIGN.md §2: same / step / forward jump / refused)', () => {
    const S = 'START',
      R = 'RECEIVED',
      I = 'INVALID',
      V = 'VALID',
      D = 'DEFERRED',
      A = 'ACCEPTED',
      C = 'CLOSED';
    const same: RMMove = { kind: 'same' };
    const refused: RMMove = { kind: 'refused' };
    const step = (to: RMState): RMMove => ({ kind: 'step', to });
    const jump = (...path: RMState[]): RMMove => ({
      kind: 'jump',
      to: path[path.length - 1] as RMState,
      path,
    });

    /** Every (from, announced target) pair, 7 × 7. A jump's path is the shortest DFA path. */
    const TABLE: ReadonlyArray<readonly [RMState, RMState, RMMove]> = [
      [S, S, same],
      [S, R, step(R)],
      [S, I, jump(R, I)],
      [S, V, jump(R, V)],
      [S, D, jump(R, V, D)],
      [S, A, jump(R, V, A)],
      [S, C, jump(R, I, C)],
      [R, S, refused],
      [R, R, same],
      [R, I, step(I)],
      [R, V, step(V)],
      [R, D, jump(V, D)],
      [R, A, jump(V, A)],
      [R, C, jump(I, C)],
      [I, S, refused],
      [I, R, refused],
      [I, I, same],
      [I, V, step(V)],
      [I, D, jump(V, D)],
      [I, A, jump(V, A)],
      [I, C, step(C)],
      [V, S, refused],
      [V, R, refused],
      [V, I, refused], // Appendix A1: RI from V is refused
      [V, V, same],
      [V, D, step(D)],
      [V, A, step(A)],
      [V, C, jump(A, C)], // never a direct V→C step: the close is routed through A
      [D, S, refused],
      [D, R, refused],
      [D, I, refused],
      [D, V, refused],
      [D, D, same],
      [D, A, step(A)],
      [D, C, step(C)],
      [A, S, refused],
      [A, R, refused],
      [A, I, refused],
      [A, V, refused],
      [A, D, step(D)],
      [A, A, same],
      [A, C, step(C)],
      [C, S, refused],
      [C, R, refused],
      [C, I, refused],
      [C, V, refused],
      [C, D, refused],
      [C, A, refused],
      [C, C, same],
    ];

    it('the table covers all 49 pairs', () => {
      expect(new Set(TABLE.map(([f, t]) => `${f}/${t}`)).size).toBe(49);
    });

    it.each(TABLE)('%s announced as %s', (from, target, expected) => {
      expect(rmMove(from, target)).toEqual(expected);
    });

    it('every jump path is a chain of DFA edges ending at the target, as rmPath returns it', () => {
      for (const [from, target, expected] of TABLE) {
        if (expected.kind !== 'jump') continue;
        expect(rmPath(from, target)).toEqual(expected.path);
        let cur = from;
        for (const next of expected.path) {
          expect(RM_EDGES.some((e) => e.from === cur && e.to === next)).toBe(true);
          cur = next;
        }
        expect(cur).toBe(target);
      }
    });

    it('RM_TARGET_OF maps the announcing messages to their states (§5.3)', () => {
      expect(RM_TARGET_OF).toEqual({
        RV: 'VALID',
        RI: 'INVALID',
        RA: 'ACCEPTED',
        RD: 'DEFERRED',
        RC: 'CLOSED',
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// EM (PROTOCOL.md §2)
// ---------------------------------------------------------------------------------------------

const EM_OF_LETTER: Readonly<Record<string, EMState>> = {
  N: 'NONE',
  P: 'PROPOSED',
  A: 'ACTIVE',
  R: 'REVISE',
  X: 'EXITED',
};
const EM_SYMBOL_OF_LETTER: Readonly<Record<string, EMSymbol>> = {
  p: 'propose',
  r: 'reject',
  a: 'accept',
  t: 'terminate',
};
const EM_SYMBOLS = Object.values(EM_SYMBOL_OF_LETTER);
const emState = (letter: string): EMState => EM_OF_LETTER[letter] as EMState;
const emSymbol = (letter: string): EMSymbol => EM_SYMBOL_OF_LETTER[letter] as EMSymbol;

/** PROTOCOL.md §2.3, copied literally: # | From | Symbol | To | message announcing it. */
const EM_SPEC_TABLE: ReadonlyArray<readonly [number, string, string, string, MessageCode]> = [
  [1, 'N', 'p', 'P', 'EP'],
  [2, 'P', 'p', 'P', 'EP'],
  [3, 'P', 'r', 'N', 'ER'],
  [4, 'P', 'a', 'A', 'EA'],
  [5, 'A', 'p', 'R', 'EV'],
  [6, 'R', 'p', 'R', 'EV'],
  [7, 'R', 'a', 'A', 'EC'],
  [8, 'R', 'r', 'A', 'EJ'],
  [9, 'A', 't', 'X', 'ET'],
  [10, 'R', 't', 'X', 'ET'],
];
const EM_GRAMMAR = 'N→pP|ε; P→pP|rN|aA; A→pR|tX; R→pR|aA|rA|tX; X→ε';

function emRun(word: string): EMState | undefined {
  let state: EMState | undefined = 'NONE';
  for (const letter of word) {
    if (state === undefined) return undefined;
    state = emStep(state, emSymbol(letter));
  }
  return state;
}

describe('EM machine (PROTOCOL.md §2)', () => {
  const edgeKey = (from: EMState, symbol: EMSymbol, to: EMState, emits: MessageCode) =>
    `${from} --${symbol}--> ${to} [${emits}]`;

  it('has exactly the 10 edges of §2.3, with the messages announcing them', () => {
    expect(EM_SPEC_TABLE).toHaveLength(10);
    expect(EM_EDGES).toHaveLength(10);
    const expected = EM_SPEC_TABLE.map(([, f, s, t, m]) => edgeKey(emState(f), emSymbol(s), emState(t), m));
    const actual = EM_EDGES.map((e) => edgeKey(e.from, e.symbol, e.to, e.emits));
    expect(new Set(actual).size).toBe(10);
    expect([...actual].sort()).toEqual([...expected].sort());
  });

  it.each(EM_SPEC_TABLE)('edge #%i: %s --%s--> %s announced by %s', (_n, f, s, t, m) => {
    expect(emStep(emState(f), emSymbol(s))).toBe(emState(t));
    expect(emEdge(emState(f), emSymbol(s))).toEqual({
      from: emState(f),
      symbol: emSymbol(s),
      to: emState(t),
      emits: m,
    });
  });

  it('emStep is undefined, and emEdge throws, for every pair not in §2.3', () => {
    const allowed = new Set(EM_SPEC_TABLE.map(([, f, s]) => `${emState(f)}/${emSymbol(s)}`));
    let missing = 0;
    for (const state of EM_STATES) {
      for (const symbol of EM_SYMBOLS) {
        if (allowed.has(`${state}/${symbol}`)) continue;
        missing++;
        expect(emStep(state, symbol), `${state}/${symbol}`).toBeUndefined();
        expect(() => emEdge(state, symbol)).toThrow(/EM has no edge/);
      }
    }
    expect(missing).toBe(5 * 4 - 10);
  });

  it('no edge leaves EXITED', () => {
    expect(EM_EDGES.filter((e) => e.from === 'EXITED')).toEqual([]);
    for (const symbol of EM_SYMBOLS) expect(emStep('EXITED', symbol)).toBeUndefined();
  });

  it('emits exactly EP, ER, EA, EV, EC, EJ, ET (never EK or EE)', () => {
    expect([...new Set(EM_EDGES.map((e) => e.emits))].sort()).toEqual([
      'EA',
      'EC',
      'EJ',
      'EP',
      'ER',
      'ET',
      'EV',
    ]);
    expect(EM_EDGES.filter((e) => e.emits === 'EP').map((e) => e.from)).toEqual(['NONE', 'PROPOSED']);
    expect(EM_EDGES.filter((e) => e.emits === 'EV').map((e) => e.from)).toEqual(['ACTIVE', 'REVISE']);
  });

  it('matches the grammar of §2.3', () => {
    const rules = parseGrammar(EM_GRAMMAR);
    const fromGrammar: string[] = [];
    const finals: string[] = [];
    for (const [lhs, alts] of rules) {
      for (const alt of alts) {
        if (alt === 'ε') finals.push(emState(lhs));
        else fromGrammar.push(`${emState(lhs)}/${emSymbol(alt[0])}/${emState(alt[1])}`);
      }
    }
    expect(finals.sort()).toEqual(['EXITED', 'NONE']);
    expect(fromGrammar).toHaveLength(10);
    expect(EM_EDGES.map((e) => `${e.from}/${e.symbol}/${e.to}`).sort()).toEqual(fromGrammar.sort());
  });

  describe('complete traces (§2.3), every word over {p,r,a,t} of length ≤ 6', () => {
    const MAX = 6;
    const endsInNone = /^(?:p+r)*$/;
    const endsInExited = /^(?:p+r)*p+a(?:p+[ar])*p*t$/;
    const all = [...wordsUpTo(Object.keys(EM_SYMBOL_OF_LETTER), MAX)];

    it('enumerates 4^0 + … + 4^6 words', () => {
      expect(all).toHaveLength(5461);
    });

    it('a word ends in NONE iff it matches (p+r)*, and in EXITED iff it matches (p+r)*p+a(p+[ar])*p*t', () => {
      for (const word of all) {
        const end = emRun(word);
        expect(end === 'NONE', `"${word}" → ${end}`).toBe(endsInNone.test(word));
        expect(end === 'EXITED', `"${word}" → ${end}`).toBe(endsInExited.test(word));
      }
      const complete = all.filter((w) => ['NONE', 'EXITED'].includes(emRun(w) ?? ''));
      const grammar = grammarLanguage(parseGrammar(EM_GRAMMAR), 'N', MAX);
      expect(complete.sort()).toEqual([...grammar].sort());
    });

    it.each(['pr', 'pat', 'ppr', 'ppat', 'papt', 'prpr', 'papat', 'paprt'])(
      'the report example %s is a complete trace',
      (trace) => {
        expect(['NONE', 'EXITED']).toContain(emRun(trace));
      },
    );
  });

  it('the embargo is in force exactly in ACTIVE and REVISE; negotiating in PROPOSED and REVISE (§2.2)', () => {
    expect(EM_STATES.filter(isInForce)).toEqual(['ACTIVE', 'REVISE']);
    expect([...EM_IN_FORCE]).toEqual(['ACTIVE', 'REVISE']);
    expect(EM_STATES.filter(isNegotiating)).toEqual(['PROPOSED', 'REVISE']);
  });
});

// ---------------------------------------------------------------------------------------------
// CS (PROTOCOL.md §3)
// ---------------------------------------------------------------------------------------------

/**
 * PROTOCOL.md §3.4, copied literally: state | allowed next events → state | Forced? | Embargo viable.
 * Forced is the only allowed event ('V' for "only V (vP)", 'P' for "only P (pX)"), or null.
 */
const CS_SPEC_TABLE: ReadonlyArray<readonly [string, readonly string[], 'V' | 'P' | null, boolean]> = [
  ['vfdpxa', ['V→Vfdpxa', 'P→vfdPxa', 'X→vfdpXa', 'A→vfdpxA'], null, true],
  ['vfdPxa', ['V→VfdPxa'], 'V', false],
  ['vfdpXa', ['P→vfdPXa'], 'P', false],
  ['vfdpxA', ['V→VfdpxA', 'P→vfdPxA', 'X→vfdpXA'], null, false],
  ['vfdPXa', ['V→VfdPXa'], 'V', false],
  ['vfdPxA', ['V→VfdPxA'], 'V', false],
  ['vfdpXA', ['P→vfdPXA'], 'P', false],
  ['vfdPXA', ['V→VfdPXA'], 'V', false],
  ['Vfdpxa', ['F→VFdpxa', 'P→VfdPxa', 'X→VfdpXa', 'A→VfdpxA'], null, true],
  ['VfdPxa', ['F→VFdPxa', 'X→VfdPXa', 'A→VfdPxA'], null, false],
  ['VfdpXa', ['P→VfdPXa'], 'P', false],
  ['VfdpxA', ['F→VFdpxA', 'P→VfdPxA', 'X→VfdpXA'], null, false],
  ['VfdPXa', ['F→VFdPXa', 'A→VfdPXA'], null, false],
  ['VfdPxA', ['F→VFdPxA', 'X→VfdPXA'], null, false],
  ['VfdpXA', ['P→VfdPXA'], 'P', false],
  ['VfdPXA', ['F→VFdPXA'], null, false],
  ['VFdpxa', ['D→VFDpxa', 'P→VFdPxa', 'X→VFdpXa', 'A→VFdpxA'], null, true],
  ['VFdPxa', ['D→VFDPxa', 'X→VFdPXa', 'A→VFdPxA'], null, false],
  ['VFdpXa', ['P→VFdPXa'], 'P', false],
  ['VFdpxA', ['D→VFDpxA', 'P→VFdPxA', 'X→VFdpXA'], null, false],
  ['VFdPXa', ['D→VFDPXa', 'A→VFdPXA'], null, false],
  ['VFdPxA', ['D→VFDPxA', 'X→VFdPXA'], null, false],
  ['VFdpXA', ['P→VFdPXA'], 'P', false],
  ['VFdPXA', ['D→VFDPXA'], null, false],
  ['VFDpxa', ['P→VFDPxa', 'X→VFDpXa', 'A→VFDpxA'], null, true],
  ['VFDPxa', ['X→VFDPXa', 'A→VFDPxA'], null, false],
  ['VFDpXa', ['P→VFDPXa'], 'P', false],
  ['VFDpxA', ['P→VFDPxA', 'X→VFDpXA'], null, false],
  ['VFDPXa', ['A→VFDPXA'], null, false],
  ['VFDPxA', ['X→VFDPXA'], null, false],
  ['VFDpXA', ['P→VFDPXA'], 'P', false],
  ['VFDPXA', [], null, false],
];

/** Runs a sequence of events from `vfdpxa`; undefined as soon as one is refused. */
function csRun(events: readonly CSEvent[]): CSState | undefined {
  let state: CSState | undefined = 'vfdpxa';
  for (const event of events) {
    if (state === undefined) return undefined;
    state = csNext(state, event);
  }
  return state;
}

/** The constraints on histories of §3.5, written independently of csNext. */
function satisfiesHistoryConstraints(h: readonly CSEvent[]): boolean {
  const at = (e: CSEvent) => h.indexOf(e);
  const immediatelyAfter = (first: CSEvent, then: CSEvent) => at(then) === at(first) + 1;
  return (
    at('V') < at('F') &&
    at('F') < at('D') &&
    (at('V') < at('P') || immediatelyAfter('P', 'V')) &&
    (at('P') < at('X') || immediatelyAfter('X', 'P'))
  );
}

describe('CS model (PROTOCOL.md §3)', () => {
  it('has exactly 32 states, the product of the 4 vfd and 8 pxa values', () => {
    expect(CS_STATES).toHaveLength(32);
    expect(new Set(CS_STATES).size).toBe(32);
    expect(CS_SPEC_TABLE).toHaveLength(32);
    expect([...CS_STATES].sort()).toEqual(CS_SPEC_TABLE.map(([s]) => s).sort());
    expect([...CS_STATES].sort()).toEqual(VFD_STATES.flatMap((v) => PXA_STATES.map((p) => v + p)).sort());
  });

  it('the events are V F D P X A, in letter order', () => {
    expect([...CS_EVENTS]).toEqual(['V', 'F', 'D', 'P', 'X', 'A']);
  });

  describe.each(CS_SPEC_TABLE)('%s', (state, successors, forced, viable) => {
    const s = state as CSState;

    it(`successors are [${successors.join(', ')}]`, () => {
      expect(csSuccessors(s).map(({ event, to }) => `${event}→${to}`)).toEqual(successors);
      for (const event of CS_EVENTS) {
        const row = successors.find((x) => x.startsWith(`${event}→`));
        expect(csNext(state, event), event).toBe(row === undefined ? undefined : row.slice(2));
      }
    });

    it(`forced: ${forced ?? 'no'}`, () => {
      expect(isForced(s)).toBe(forced !== null);
      if (forced !== null) expect(csSuccessors(s).map((x) => x.event)).toEqual([forced]);
    });

    it(`embargo viable: ${viable ? 'yes' : 'no'}`, () => {
      expect(isViable(state.slice(3) as PXA)).toBe(viable);
    });
  });

  it('every transition flips exactly the event’s own letter from lower to upper case (rule 1)', () => {
    for (const state of CS_STATES) {
      for (const { event, to } of csSuccessors(state)) {
        const i = CS_EVENTS.indexOf(event);
        expect(to).toBe(state.slice(0, i) + event + state.slice(i + 1));
        expect(state[i]).toBe(event.toLowerCase());
        expect(CS_STATES).toContain(to);
      }
    }
  });

  it('start vfdpxa, sole final state VFDPXA (§3.4)', () => {
    expect(CS_STATES.filter((s) => csSuccessors(s).length === 0)).toEqual(['VFDPXA']);
    expect(CS_STATES.filter((s) => !CS_STATES.some((t) => csSuccessors(t).some((x) => x.to === s)))).toEqual([
      'vfdpxa',
    ]);
  });

  it('Appendix A3: VFdPxA --X--> VFdPXA (X does not set D)', () => {
    expect(csNext('VFdPxA', 'X')).toBe('VFdPXA');
  });

  it('rejects strings that are not one of the 32 states, and events already seen', () => {
    expect(csNext('vfdpx', 'V')).toBeUndefined();
    expect(csNext('vfdpxaa', 'V')).toBeUndefined();
    expect(csNext('', 'V')).toBeUndefined();
    expect(csNext('vFdpxa', 'V')).toBeUndefined(); // vF.... cannot exist (rule 2)
    expect(csNext('VfDpxa', 'F')).toBeUndefined(); // .fD... cannot exist (rule 2)
    expect(csNext('abcdef', 'V')).toBeUndefined();
    expect(csNext('vfdpxa', 'Q' as CSEvent)).toBeUndefined();
    for (const state of CS_STATES) {
      for (const event of CS_EVENTS) {
        if (state.includes(event)) expect(csNext(state, event), `${state}+${event}`).toBeUndefined();
      }
    }
  });

  describe('histories (§3.5)', () => {
    const all = permutations(CS_EVENTS);
    const accepted = all.filter((h) => csRun(h) !== undefined);
    const key = (h: readonly CSEvent[]) => h.join('');

    it('of the 720 orderings of the six events, exactly 70 are accepted, all ending in VFDPXA', () => {
      expect(all).toHaveLength(720);
      expect(new Set(all.map(key)).size).toBe(720);
      expect(accepted).toHaveLength(70);
      for (const h of accepted) expect(csRun(h)).toBe('VFDPXA');
    });

    it('best (V,F,D,P,X,A) and worst (A,X,P,V,F,D) are accepted; P then X with v is not', () => {
      const keys = new Set(accepted.map(key));
      expect(keys.has('VFDPXA')).toBe(true);
      expect(keys.has('AXPVFD')).toBe(true);
      expect(keys.has('PXVFDA')).toBe(false);
      expect(keys.has('XAPVFD')).toBe(false);
    });

    it('the accepted histories are exactly those satisfying the constraints of §3.5', () => {
      for (const h of accepted) expect(satisfiesHistoryConstraints(h), key(h)).toBe(true);
      expect(all.filter(satisfiesHistoryConstraints).map(key).sort()).toEqual(accepted.map(key).sort());
    });

    it('the baseline frequencies f_d of the §3.6 desiderata follow from a uniform random walk', () => {
      const before = new Map<string, number>();
      const walk = (state: CSState, p: number, seen: CSEvent[]) => {
        const next = csSuccessors(state);
        if (next.length === 0) {
          for (const a of CS_EVENTS)
            for (const b of CS_EVENTS)
              if (seen.indexOf(a) < seen.indexOf(b)) before.set(a + b, (before.get(a + b) ?? 0) + p);
          return;
        }
        for (const { event, to } of next) walk(to, p / next.length, [...seen, event]);
      };
      walk('vfdpxa', 1, []);
      const table: Array<[string, number]> = [
        ['VP', 0.333],
        ['VX', 0.667],
        ['VA', 0.75],
        ['FP', 0.111],
        ['FX', 0.333],
        ['FA', 0.375],
        ['DP', 0.037],
        ['DX', 0.167],
        ['DA', 0.187],
        ['PX', 0.5],
        ['PA', 0.667],
        ['XA', 0.5],
      ];
      for (const [d, f] of table) expect(Math.abs((before.get(d) ?? -1) - f), d).toBeLessThanOrEqual(0.001);
    });
  });

  describe('pxaApply (X drags P along: rule 4) and vfdApply (V ≺ F ≺ D, forward only)', () => {
    const PXA_TABLE: ReadonlyArray<readonly [PXA, PXAEvent, PXA]> = [
      ['pxa', 'P', 'Pxa'],
      ['pxa', 'X', 'PXa'],
      ['pxa', 'A', 'pxA'],
      ['pxA', 'P', 'PxA'],
      ['pxA', 'X', 'PXA'],
      ['pxA', 'A', 'pxA'],
      ['pXa', 'P', 'PXa'],
      ['pXa', 'X', 'PXa'],
      ['pXa', 'A', 'PXA'],
      ['pXA', 'P', 'PXA'],
      ['pXA', 'X', 'PXA'],
      ['pXA', 'A', 'PXA'],
      ['Pxa', 'P', 'Pxa'],
      ['Pxa', 'X', 'PXa'],
      ['Pxa', 'A', 'PxA'],
      ['PxA', 'P', 'PxA'],
      ['PxA', 'X', 'PXA'],
      ['PxA', 'A', 'PxA'],
      ['PXa', 'P', 'PXa'],
      ['PXa', 'X', 'PXa'],
      ['PXa', 'A', 'PXA'],
      ['PXA', 'P', 'PXA'],
      ['PXA', 'X', 'PXA'],
      ['PXA', 'A', 'PXA'],
    ];
    const VFD_TABLE: ReadonlyArray<readonly [VFD, VFDEvent, VFD]> = [
      ['vfd', 'V', 'Vfd'],
      ['vfd', 'F', 'VFd'],
      ['vfd', 'D', 'VFD'],
      ['Vfd', 'V', 'Vfd'],
      ['Vfd', 'F', 'VFd'],
      ['Vfd', 'D', 'VFD'],
      ['VFd', 'V', 'VFd'],
      ['VFd', 'F', 'VFd'],
      ['VFd', 'D', 'VFD'],
      ['VFD', 'V', 'VFD'],
      ['VFD', 'F', 'VFD'],
      ['VFD', 'D', 'VFD'],
    ];

    it('the tables cover every (value, event) pair', () => {
      expect(new Set(PXA_TABLE.map(([p, e]) => p + e)).size).toBe(8 * 3);
      expect(new Set(VFD_TABLE.map(([v, e]) => v + e)).size).toBe(4 * 3);
    });

    it.each(PXA_TABLE)('pxaApply(%s, %s) = %s', (pxa, event, expected) => {
      expect(pxaApply(pxa, event)).toBe(expected);
      expect(pxaHas(expected, event)).toBe(true);
      expect(expected).not.toMatch(/^pX/); // never leaves the ephemeral pX standing
    });

    it.each(VFD_TABLE)('vfdApply(%s, %s) = %s', (vfd, event, expected) => {
      expect(vfdApply(vfd, event)).toBe(expected);
      expect(vfdHas(expected, event)).toBe(true);
    });

    it('isViable holds for pxa only', () => {
      expect(PXA_STATES.filter(isViable)).toEqual(['pxa']);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// PEC (PROTOCOL.md §2.9)
// ---------------------------------------------------------------------------------------------

describe('PEC machine (PROTOCOL.md §2.9)', () => {
  const PEC_SYMBOLS: readonly PECSymbol[] = ['invite', 'accept', 'decline', 'revise', 'reset'];
  /** Every state × symbol; undefined where §2.9 has no edge. */
  const TABLE: Readonly<Record<PEC, Readonly<Record<PECSymbol, PEC | undefined>>>> = {
    NO_EMBARGO: {
      invite: 'INVITED',
      accept: 'SIGNATORY',
      decline: 'DECLINED',
      revise: undefined,
      reset: 'NO_EMBARGO',
    },
    INVITED: {
      invite: undefined,
      accept: 'SIGNATORY',
      decline: 'DECLINED',
      revise: undefined,
      reset: 'NO_EMBARGO',
    },
    SIGNATORY: {
      invite: undefined,
      accept: undefined,
      decline: undefined,
      revise: 'LAPSED',
      reset: 'NO_EMBARGO',
    },
    LAPSED: {
      invite: 'INVITED',
      accept: 'SIGNATORY',
      decline: 'DECLINED',
      revise: undefined,
      reset: 'NO_EMBARGO',
    },
    DECLINED: {
      invite: 'INVITED',
      accept: undefined,
      decline: undefined,
      revise: undefined,
      reset: 'NO_EMBARGO',
    },
  };
  const rows = PEC_STATES.flatMap((state) =>
    PEC_SYMBOLS.map((symbol) => [state, symbol, TABLE[state][symbol]] as const),
  );

  it('the table covers all 5 states × 5 symbols', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...PEC_STATES].sort());
    expect(rows).toHaveLength(25);
    expect(rows.filter(([, , to]) => to !== undefined)).toHaveLength(3 + 3 + 3 + 1 + 5);
  });

  it.each(rows)('%s --%s--> %s', (state, symbol, expected) => {
    expect(pecStep(state, symbol)).toBe(expected);
  });
});
