/** The pure protocol core (no I/O, no clock): vocabulary, machines, snapshot, decide(). */
export * from './vocabulary.js';
export * from './rm.js';
export * from './em.js';
export * from './cs.js';
export * from './pec.js';
export * from './policy.js';
export * from './snapshot.js';
export * from './types.js';
export * from './decide.js';
export * from './errors.js';
export * from './time.js';
