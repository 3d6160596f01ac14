// Memory stays bounded: it may grow with the number of entities and types, never with the
// number of events. A store is driven to its steady state (every entity seen, caches full,
// reused buffers allocated), then takes four times as many events again under the same load;
// what the process holds after a full collection must not grow with them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type AppendEvent, openStore } from '../../engine/index.js';
import { tmpDir } from '../helpers/tmp.js';

v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

const ENTITIES = 400;
const TYPES = ['order.placed', 'order.paid', 'order.shipped', 'order.closed'];
const BATCH = 100;
const APPENDERS = 4;
const payload = Buffer.from(JSON.stringify({ data: 'x'.repeat(200) }));

/** Heap and off-heap bytes after full collections (two, so weak references are cleared too). */
function heldBytes(): number {
  collect();
  collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

describe('memory', () => {
  it('does not grow with the number of events appended and read', async (t) => {
    const store = await openStore({
      dataDir: tmpDir(),
      fsync: 'never',
      segmentBytesMax: 1024 * 1024,
      cacheBytes: 2 * 1024 * 1024,
      // The client ids of the window's segments fit the cache many times over, as they do with
      // the defaults; a window larger than the cache holds is the subject of another test.
      idempotencyWindowEvents: 10_000,
      logger: { warn: () => {}, info: () => {} },
    });
    t.after(() => store.close());
    let serial = 0;
    function batch(): AppendEvent[] {
      const events: AppendEvent[] = [];
      for (let i = 0; i < BATCH; i++, serial++) {
        events.push({
          eventType: TYPES[serial % TYPES.length]!,
          entityId: `order-${serial % ENTITIES}`,
          payload,
          // Half the events carry their own id (an idempotency key kept for retries).
          ...(serial % 2 === 0 ? { id: `client-${serial}` } : {}),
        });
      }
      return events;
    }
    /** Appends `events` events from concurrent appenders (the pipeline never drains), reading as it goes. */
    async function drive(events: number): Promise<void> {
      const until = serial + events;
      await Promise.all(
        Array.from({ length: APPENDERS }, async () => {
          while (serial < until) {
            const results = await store.append('default', batch());
            assert.equal(results.length, BATCH);
            const entityId = `order-${serial % ENTITIES}`;
            const read = store.read('default', { entityId, order: 'desc', limit: 20 });
            assert.ok(read.events.length > 0);
            assert.ok(store.getEvent('default', results[0]!.eventId) !== null);
          }
        }),
      );
    }

    await drive(40_000);
    const warm = heldBytes();
    const appended = 160_000;
    await drive(appended);
    const after = heldBytes();
    const perEvent = (after - warm) / appended;
    // One object kept per event, even a bare number in a map, would cost 16 bytes or more.
    // Segment bookkeeping (one small object per 1 MiB segment) stays far below 2 bytes.
    assert.ok(
      perEvent < 4,
      `held ${warm} bytes warm and ${after} after ${appended} more events: ${perEvent.toFixed(1)} bytes per event`,
    );
    assert.equal(store.stats('default').totalEvents, serial);
  });
});
