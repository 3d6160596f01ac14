// The append routes' answers: each must parse to exactly the results it carries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AppendResult, formatTimestampUs } from '../../engine/index.js';
import { batchJson, resultJson } from '../../server/http/append_json.js';

function expected(r: AppendResult) {
  return {
    event_id: r.eventId,
    timestamp: formatTimestampUs(r.timestampUs),
    version: r.version,
    position: r.position,
  };
}

describe('append answers', () => {
  it('carry every result, odd ids, large numbers and mixed timestamps exactly', () => {
    const t0 = 1_795_737_600_123_456;
    const results: AppendResult[] = [
      { eventId: 'plain-id', position: 1, version: 1, timestampUs: t0, duplicate: false },
      { eventId: 'say "hi"', position: 2 ** 40 + 7, version: 9, timestampUs: t0, duplicate: false },
      { eventId: 'back\\slash', position: 10, version: 100, timestampUs: t0 - 5, duplicate: true },
      {
        eventId: 'café ✓',
        position: 2 ** 53 - 1,
        version: 4_294_967_295,
        timestampUs: t0,
        duplicate: false,
      },
      {
        eventId: 'tab\there',
        position: 0,
        version: 0,
        timestampUs: t0 + 1_000_000,
        duplicate: false,
      },
    ];
    const parsed = JSON.parse(batchJson(results, 4));
    assert.deepEqual(parsed, { total: 5, ingested: 4, events: results.map(expected) });
    for (const r of results) assert.deepEqual(JSON.parse(resultJson(r)), expected(r));
  });
});
