// Events: append one, append a batch, query, fetch by id. Reads are answered from the stored
// bytes of each event; nothing is parsed or re-serialized on the way out.
import { eventJson, eventsJsonWithRuns, type Store } from '../../engine/index.js';
import { HttpError } from '../errors.js';
import type { ServerMetrics } from '../metrics.js';
import type { QuotaChecks } from '../tenants/quotas.js';
import { batchJson, resultJson } from './append_json.js';
import { type ScanLimits, scanBatch, scanSingle } from './event_scan.js';
import { toReadQuery } from './query.js';
import { scratchFor, send } from './reply.js';
import type { Handler } from './request.js';

const OK = '200 OK';

export interface EventRoutes {
  append: Handler;
  batch: Handler;
  query: Handler;
  byId: Handler;
}

export function eventRoutes(
  store: Store,
  input: ScanLimits,
  metrics: ServerMetrics,
  quotas: QuotaChecks,
): EventRoutes {
  return {
    async append(ex, _info, caller, body) {
      const event = scanSingle(body!, input);
      quotas.beforeAppend(caller.tenantId, 1);
      const started = performance.now();
      const [result] = await store.append(caller.tenantId, [event]);
      metrics.ingestion((performance.now() - started) / 1000);
      quotas.appended(caller.tenantId, result!.duplicate ? 0 : 1);
      metrics.ingested(result!.duplicate ? 0 : 1);
      send(ex, OK, resultJson(result!));
    },
    async batch(ex, _info, caller, body) {
      const events = scanBatch(body!, input);
      quotas.beforeAppend(caller.tenantId, events.length);
      const started = performance.now();
      const results = await store.append(caller.tenantId, events);
      metrics.ingestion((performance.now() - started) / 1000);
      const ingested = results.filter((r) => !r.duplicate).length;
      ex.span?.setAttribute('allsource.events', results.length);
      quotas.appended(caller.tenantId, ingested);
      metrics.ingested(ingested);
      send(ex, OK, batchJson(results, ingested));
    },
    query(ex, info, caller) {
      quotas.query(caller.tenantId);
      const result = store.read(caller.tenantId, toReadQuery(info.query));
      metrics.query('events');
      ex.span?.setAttribute('allsource.events', result.events.length);
      const tail = `,"count":${result.events.length},"has_more":${result.hasMore},"next_position":${result.nextPosition}}`;
      const body = eventsJsonWithRuns(
        result.events,
        caller.tenantJson,
        '{"events":',
        tail,
        scratchFor,
      );
      send(ex, OK, body);
    },
    byId(ex, info, caller) {
      quotas.query(caller.tenantId);
      const view = store.getEvent(caller.tenantId, info.params[0]!);
      if (view === null) throw new HttpError('NOT_FOUND', 'no event with this id');
      metrics.query('by_id');
      send(ex, OK, eventJson(view, caller.tenantJson));
    },
  };
}
