/** Embargo Management machine (PROTOCOL.md §2). Global to the case. */
import type { EMState, MessageCode } from './vocabulary.js';

export type EMSymbol = 'propose' | 'reject' | 'accept' | 'terminate';

export interface EMEdge {
  readonly from: EMState;
  readonly symbol: EMSymbol;
  readonly to: EMState;
  /** The message announcing the transition (PROTOCOL.md §2.3). */
  readonly emits: MessageCode;
}

/** Exactly the 10 edges of PROTOCOL.md §2.3. No edge leaves EXITED. */
export const EM_EDGES: readonly EMEdge[] = [
  { from: 'NONE', symbol: 'propose', to: 'PROPOSED', emits: 'EP' },
  { from: 'PROPOSED', symbol: 'propose', to: 'PROPOSED', emits: 'EP' },
  { from: 'PROPOSED', symbol: 'reject', to: 'NONE', emits: 'ER' },
  { from: 'PROPOSED', symbol: 'accept', to: 'ACTIVE', emits: 'EA' },
  { from: 'ACTIVE', symbol: 'propose', to: 'REVISE', emits: 'EV' },
  { from: 'REVISE', symbol: 'propose', to: 'REVISE', emits: 'EV' },
  { from: 'REVISE', symbol: 'accept', to: 'ACTIVE', emits: 'EC' },
  { from: 'REVISE', symbol: 'reject', to: 'ACTIVE', emits: 'EJ' },
  { from: 'ACTIVE', symbol: 'terminate', to: 'EXITED', emits: 'ET' },
  { from: 'REVISE', symbol: 'terminate', to: 'EXITED', emits: 'ET' },
];

export function emStep(state: EMState, symbol: EMSymbol): EMState | undefined {
  return EM_EDGES.find((e) => e.from === state && e.symbol === symbol)?.to;
}

/** The edge for (from, symbol), or a thrown error: decide() only takes edges that exist. */
export function emEdge(state: EMState, symbol: EMSymbol): EMEdge {
  const edge = EM_EDGES.find((e) => e.from === state && e.symbol === symbol);
  if (!edge) throw new Error(`EM has no edge ${state} --${symbol}-->`);
  return edge;
}

export const isInForce = (em: EMState): boolean => em === 'ACTIVE' || em === 'REVISE';
export const isNegotiating = (em: EMState): boolean => em === 'PROPOSED' || em === 'REVISE';
