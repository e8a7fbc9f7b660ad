/** Case State model: vfd (per vendor) × pxa (global) (PROTOCOL.md §3). */
import { PXA_STATES, VFD_STATES } from './vocabulary.js';
import type { PXA, VFD } from './vocabulary.js';

/** The six events, in the letter order v f d p x a (PROTOCOL.md §3.2). */
export const CS_EVENTS = ['V', 'F', 'D', 'P', 'X', 'A'] as const;
export type CSEvent = (typeof CS_EVENTS)[number];
export type VFDEvent = 'V' | 'F' | 'D';
export type PXAEvent = 'P' | 'X' | 'A';

/** A full six-letter case state such as `VfdPxa`. */
export type CSState = `${VFD}${PXA}`;

/** The 32 valid states: 4 vfd × 8 pxa (PROTOCOL.md §3.4). */
export const CS_STATES: readonly CSState[] = VFD_STATES.flatMap((v) =>
  PXA_STATES.map((p) => `${v}${p}` as CSState),
);

const has = (s: string, i: number) => s[i] === s[i]?.toUpperCase();
const upper = (s: string, i: number) => s.slice(0, i) + (s[i] as string).toUpperCase() + s.slice(i + 1);

/**
 * The state after `event`, or undefined when the event is not allowed there (PROTOCOL.md §3.3):
 * each event flips one letter up once; V ≺ F ≺ D; from `v..P..` only V; from `...pX.` only P.
 */
export function csNext(state: string, event: CSEvent): CSState | undefined {
  const i = CS_EVENTS.indexOf(event);
  if (i < 0 || !(CS_STATES as readonly string[]).includes(state) || has(state, i)) return undefined;
  if (!has(state, 0) && has(state, 3) && event !== 'V') return undefined; // rule 3
  if (!has(state, 3) && has(state, 4) && event !== 'P') return undefined; // rule 4
  if (event === 'F' && !has(state, 0)) return undefined; // rule 2
  if (event === 'D' && !has(state, 1)) return undefined; // rule 2
  return upper(state, i) as CSState;
}

/** Allowed successors of a state, in event order. */
export function csSuccessors(state: CSState): Array<{ event: CSEvent; to: CSState }> {
  return CS_EVENTS.flatMap((event) => {
    const to = csNext(state, event);
    return to ? [{ event, to }] : [];
  });
}

/** A state whose only allowed next event is forced (vP → V, pX → P). */
export function isForced(state: CSState): boolean {
  return (!has(state, 0) && has(state, 3)) || (!has(state, 3) && has(state, 4));
}

/** The embargo habitable zone: `...pxa` (PROTOCOL.md §0.3, §2.8). */
export function isViable(pxa: PXA): boolean {
  return pxa === 'pxa';
}

/** Apply a global event to pxa. X drags P with it (rule 4); the result never leaves `pX` standing. */
export function pxaApply(pxa: PXA, event: PXAEvent): PXA {
  const letters = pxa.split('');
  const i = 'PXA'.indexOf(event);
  letters[i] = event;
  if (letters[1] === 'X') letters[0] = 'P';
  return letters.join('') as PXA;
}

export const pxaHas = (pxa: PXA, event: PXAEvent): boolean => pxa.includes(event);

/** Apply a vendor event; missing earlier letters are set too (V ≺ F ≺ D, a forward jump). */
export function vfdApply(vfd: VFD, event: VFDEvent): VFD {
  const level = { V: 1, F: 2, D: 3 }[event];
  const current = VFD_STATES.indexOf(vfd);
  return VFD_STATES[Math.max(level, current)] as VFD;
}

export const vfdHas = (vfd: VFD, event: VFDEvent): boolean => vfd.includes(event);
