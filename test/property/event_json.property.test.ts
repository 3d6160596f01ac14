// The wire JSON assembled from record bytes is always valid JSON and says exactly what was
// stored, whatever the strings hold.
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import fc from 'fast-check';
import { initChecksum } from '../../engine/format/checksum.js';
import { eventJson, eventsJson } from '../../engine/format/event_json.js';
import { EventView } from '../../engine/format/event_view.js';
import { recordLength, writeRecord } from '../../engine/format/record.js';
import { formatTimestampUs } from '../../engine/format/timestamp.js';

const runs = Number(process.env.ALLSOURCE_PROPERTY_RUNS ?? 300);
const seed =
  process.env.ALLSOURCE_SEED === undefined ? undefined : Number(process.env.ALLSOURCE_SEED);
const params = { numRuns: runs, ...(seed === undefined ? {} : { seed }) };

before(() => initChecksum());

// What validation lets into a record: well-formed, no control characters, not only spaces.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule under test
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const text = fc
  .string({ minLength: 1, maxLength: 40, unit: 'binary' })
  .filter(
    (s) =>
      s.isWellFormed() && !CONTROL.test(s) && s.trim().length > 0 && Buffer.byteLength(s) <= 128,
  );

it('writes events whose JSON parses back to what was stored', () => {
  fc.assert(
    fc.property(
      text,
      text,
      fc.jsonValue(),
      fc.option(fc.jsonValue(), { nil: null }),
      fc.integer({ min: 1, max: 2 ** 47 }),
      fc.integer({ min: 1, max: 2 ** 32 - 1 }),
      fc.integer({ min: 0, max: 4_102_444_800_000_000 }),
      (id, entity, payload, metadata, position, version, timestampUs) => {
        const input = {
          id,
          idBytes: Buffer.byteLength(id),
          clientId: true,
          eventType: 'a.b',
          typeBytes: 3,
          entityId: entity,
          entityBytes: Buffer.byteLength(entity),
          metadata: metadata === null ? null : Buffer.from(JSON.stringify(metadata)),
          payload: Buffer.from(JSON.stringify(payload)),
          position,
          timestampUs,
          version,
          followers: 0,
          escape: /["\\]/.test(entity) || /["\\]/.test(id),
        };
        const buf = Buffer.alloc(recordLength(input));
        writeRecord(buf, 0, input);
        const view = new EventView(buf);
        const parsed = JSON.parse(eventJson(view, 'acme').toString('utf8'));
        assert.deepEqual(parsed, {
          id,
          event_type: 'a.b',
          entity_id: entity,
          tenant_id: 'acme',
          payload: JSON.parse(JSON.stringify(payload)),
          timestamp: formatTimestampUs(timestampUs),
          metadata: metadata === null ? null : JSON.parse(JSON.stringify(metadata)),
          version,
          position,
        });
        const many = JSON.parse(
          eventsJson([view, view], 'acme', '{"events":', ',"count":2}').toString(),
        );
        assert.equal(many.count, 2);
        assert.deepEqual(many.events[1], parsed);
      },
    ),
    params,
  );
});
