/** Participant Embargo Consent machine (PROTOCOL.md §2.9 [C]). */
import type { PEC } from './vocabulary.js';

export type PECSymbol = 'invite' | 'accept' | 'decline' | 'revise' | 'reset';

const FROM: Readonly<Record<PECSymbol, readonly PEC[] | 'any'>> = {
  invite: ['NO_EMBARGO', 'LAPSED', 'DECLINED'],
  accept: ['NO_EMBARGO', 'INVITED', 'LAPSED'],
  decline: ['NO_EMBARGO', 'INVITED', 'LAPSED'],
  revise: ['SIGNATORY'],
  reset: 'any',
};
const TO: Readonly<Record<PECSymbol, PEC>> = {
  invite: 'INVITED',
  accept: 'SIGNATORY',
  decline: 'DECLINED',
  revise: 'LAPSED',
  reset: 'NO_EMBARGO',
};

/** One PEC step, or undefined where the machine has no such edge. */
export function pecStep(state: PEC, symbol: PECSymbol): PEC | undefined {
  const from = FROM[symbol];
  return from === 'any' || from.includes(state) ? TO[symbol] : undefined;
}
