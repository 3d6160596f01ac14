// RFC 3339 timestamps in UTC with microseconds, the form of every timestamp in the API
// (2026-11-27T10:00:00.123456Z). The part up to the second is cached: a read of many events
// from one second formats it once.

let cachedSecond = -1;
let cachedPrefix = '';

export function formatTimestampUs(us: number): string {
  const second = Math.floor(us / 1_000_000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const micros = us - second * 1_000_000;
  return `${cachedPrefix}.${String(micros).padStart(6, '0')}Z`;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp to microseconds since the epoch; null when malformed. */
export function parseTimestampUs(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const ms = Date.parse(
    `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8] === 'z' ? 'Z' : m[8]}`,
  );
  if (Number.isNaN(ms)) return null;
  const fraction = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
  return ms * 1000 + Number(fraction);
}
