// Assertions catch programmer errors; they crash rather than return a wrong answer.
// Operating errors (bad input, full disk, corruption) are StoreErrors instead.

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
