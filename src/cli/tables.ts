/** `vultron-mail tables`: prints the protocol's vocabulary and machines as the core has them. */
import {
  CS_STATES,
  EM_EDGES,
  MESSAGE_CODES,
  MESSAGE_NAMES,
  RM_EDGES,
  csSuccessors,
  familyOf,
  isForced,
  isViable,
} from '../protocol/index.js';
import type { PXA } from '../protocol/index.js';

export function renderTables(): string {
  const out: string[] = [];
  out.push('Message types (PROTOCOL.md §4.2)');
  for (const c of MESSAGE_CODES) out.push(`  ${c}  ${familyOf(c).padEnd(7)} ${MESSAGE_NAMES[c]}`);
  out.push('', `RM transitions (PROTOCOL.md §1.2): ${RM_EDGES.length} edges`);
  for (const e of RM_EDGES)
    out.push(`  ${e.from.padEnd(9)} --${e.symbol.padEnd(10)}--> ${e.to.padEnd(9)} ${e.emits ?? ''}`);
  out.push('', `EM transitions (PROTOCOL.md §2.3): ${EM_EDGES.length} edges`);
  for (const e of EM_EDGES)
    out.push(`  ${e.from.padEnd(9)} --${e.symbol.padEnd(10)}--> ${e.to.padEnd(9)} ${e.emits}`);
  out.push('', `Case states (PROTOCOL.md §3.4): ${CS_STATES.length} states`);
  for (const s of CS_STATES) {
    const next = csSuccessors(s)
      .map((n) => `${n.event}→${n.to}`)
      .join(', ');
    const flags = [isForced(s) ? 'forced' : '', isViable(s.slice(3) as PXA) ? 'viable' : ''].filter(Boolean);
    out.push(`  ${s}  ${(next || '(final)').padEnd(44)} ${flags.join(' ')}`);
  }
  return out.join('\n') + '\n';
}
