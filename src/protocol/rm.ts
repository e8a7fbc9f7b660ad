/** Report Management machine (PROTOCOL.md §1). One instance per participant. */
import type { MessageCode, RMState } from './vocabulary.js';

export type RMSymbol = 'receive' | 'validate' | 'invalidate' | 'accept' | 'defer' | 'close';

export interface RMEdge {
  readonly from: RMState;
  readonly symbol: RMSymbol;
  readonly to: RMState;
  /** The message the transitioning participant emits (PROTOCOL.md §1.2), null for receive. */
  readonly emits: MessageCode | null;
}

/** Exactly the 11 edges of PROTOCOL.md §1.2 (and the code's trigger names, §1.2 [C]). */
export const RM_EDGES: readonly RMEdge[] = [
  { from: 'START', symbol: 'receive', to: 'RECEIVED', emits: null },
  { from: 'RECEIVED', symbol: 'validate', to: 'VALID', emits: 'RV' },
  { from: 'RECEIVED', symbol: 'invalidate', to: 'INVALID', emits: 'RI' },
  { from: 'INVALID', symbol: 'validate', to: 'VALID', emits: 'RV' },
  { from: 'VALID', symbol: 'accept', to: 'ACCEPTED', emits: 'RA' },
  { from: 'VALID', symbol: 'defer', to: 'DEFERRED', emits: 'RD' },
  { from: 'ACCEPTED', symbol: 'defer', to: 'DEFERRED', emits: 'RD' },
  { from: 'DEFERRED', symbol: 'accept', to: 'ACCEPTED', emits: 'RA' },
  { from: 'ACCEPTED', symbol: 'close', to: 'CLOSED', emits: 'RC' },
  { from: 'DEFERRED', symbol: 'close', to: 'CLOSED', emits: 'RC' },
  { from: 'INVALID', symbol: 'close', to: 'CLOSED', emits: 'RC' },
];

/** One step of the DFA, or undefined when the symbol is not allowed in that state. */
export function rmStep(state: RMState, symbol: RMSymbol): RMState | undefined {
  return RM_EDGES.find((e) => e.from === state && e.symbol === symbol)?.to;
}

/** The RM state a participant announces with RV/RI/RA/RD/RC (PROTOCOL.md §5.3). */
export const RM_TARGET_OF: Readonly<Partial<Record<MessageCode, RMState>>> = {
  RV: 'VALID',
  RI: 'INVALID',
  RA: 'ACCEPTED',
  RD: 'DEFERRED',
  RC: 'CLOSED',
};

/** States reachable from `from` by one or more DFA steps. */
export function rmReachable(from: RMState): Set<RMState> {
  const seen = new Set<RMState>();
  const queue: RMState[] = [from];
  while (queue.length > 0) {
    const s = queue.shift() as RMState;
    for (const e of RM_EDGES) {
      if (e.from === s && !seen.has(e.to)) {
        seen.add(e.to);
        queue.push(e.to);
      }
    }
  }
  return seen;
}

export type RMMove =
  /** Same state: an idempotent repeat, nothing changes. */
  | { kind: 'same' }
  /** One DFA edge. */
  | { kind: 'step'; to: RMState }
  /** A forward jump over states the sender did not announce (DESIGN.md §2: accepted and logged). */
  | { kind: 'jump'; to: RMState; path: RMState[] }
  /** Backward or impossible (e.g. RI from VALID, anything from CLOSED). */
  | { kind: 'refused' };

/** Shortest DFA path from `from` to `to` (excluding `from`), or undefined. */
export function rmPath(from: RMState, to: RMState): RMState[] | undefined {
  const prev = new Map<RMState, RMState>();
  const queue: RMState[] = [from];
  const seen = new Set<RMState>([from]);
  while (queue.length > 0) {
    const s = queue.shift() as RMState;
    for (const e of RM_EDGES) {
      if (e.from !== s || seen.has(e.to)) continue;
      seen.add(e.to);
      prev.set(e.to, s);
      if (e.to === to) {
        const path: RMState[] = [to];
        let cur = s;
        while (cur !== from) {
          path.unshift(cur);
          cur = prev.get(cur) as RMState;
        }
        return path;
      }
      queue.push(e.to);
    }
  }
  return undefined;
}

/**
 * How the bot's record of a participant moves when the participant announces `target`
 * (the sender is authoritative on its own state: DESIGN.md §2, PROTOCOL.md §1.6 [I]).
 */
export function rmMove(from: RMState, target: RMState): RMMove {
  if (from === target) return { kind: 'same' };
  if (RM_EDGES.some((e) => e.from === from && e.to === target)) return { kind: 'step', to: target };
  const path = rmPath(from, target);
  if (path) return { kind: 'jump', to: target, path };
  return { kind: 'refused' };
}
