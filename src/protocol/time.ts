/** Instant arithmetic on RFC 3339 strings (pure: the clock is always an argument). */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Milliseconds since the epoch, or NaN when the string is not an instant. */
export function ms(instant: string): number {
  return Date.parse(instant);
}

/** RFC 3339 UTC, without a `.000` millisecond part when it is zero. */
export function iso(msSinceEpoch: number): string {
  return new Date(msSinceEpoch).toISOString().replace('.000Z', 'Z');
}

export function addMs(instant: string, delta: number): string {
  return iso(ms(instant) + delta);
}

/** Normalises an instant to the canonical form of `iso()`. */
export function canonical(instant: string): string {
  return iso(ms(instant));
}

/** The date part (YYYY-MM-DD) of an instant, in UTC. */
export function utcDate(instant: string): string {
  return canonical(instant).slice(0, 10);
}
