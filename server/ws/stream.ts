// WebSocket /api/v1/events/stream.
//
// Live delivery goes through uWebSockets.js's pub/sub: one publisher per tenant follows the log
// and publishes every committed event once to the topics "all", "entity" and "type" of its
// tenant, and the C++ side copies it to every subscribed socket. A socket starts in pull mode:
// its own engine subscription reads stored events from the log (catch-up), bounded by the
// publisher's position. When its cursor meets that position it subscribes to its topic in the
// same synchronous step, so nothing is skipped or sent twice at the switch. A live socket whose
// send buffer passes the limit is unsubscribed before the next publish and goes back to pull
// mode at the publisher's position: it is served from the log and never buffers without bound.
// Filters with no topic (a type prefix, or entity and type together) stay in pull mode.

import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import {
  eventJson,
  type Store,
  type Subscription,
  type SubscriptionFilter,
} from '../../engine/index.js';
import type { Caller, Credentials } from '../auth/authenticate.js';
import { Permission } from '../auth/roles.js';
import { errorBody, errorTable, HttpError, toHttpError } from '../errors.js';
import { scratchFor } from '../http/reply.js';
import type { ServerMetrics } from '../metrics.js';
import type { Tracing } from '../tracing.js';

interface SocketData {
  caller: Caller;
  filter: SubscriptionFilter;
  /** The socket's own cursor, used in pull mode. */
  sub: Subscription | null;
  publisher: Publisher | null;
  /** The topic this filter maps to, or null when it can only be pulled. */
  topic: string | null;
  live: boolean;
  pumping: boolean;
  /** A from_position catch-up is running: send caught_up when it reaches the end. */
  catchingUp: boolean;
  closed: boolean;
}

type Socket = WebSocket<SocketData>;

interface Publisher {
  tenantId: string;
  tenantJson: string;
  sub: Subscription;
  /** Every event up to here has been published. */
  position: number;
  sockets: Set<Socket>;
  /** Sockets in pull mode waiting for the publisher to move on. */
  waiters: (() => void)[];
  /** Set while the publisher idles with no sockets. */
  wakeOnJoin: (() => void) | null;
  /**
   * Live sockets per entity or type topic. An event is published to its entity's and its
   * type's topics only when a socket listens there: most streams follow everything, and a
   * publish to an empty topic still costs a topic string and a lookup per event.
   */
  liveTopics: Map<string, number>;
}

export interface StreamOptions {
  bufferedBytesMax: number;
  messageBytesMax: number;
  /** Spans for subscriptions when tracing is on. */
  tracing?: Tracing | null;
}

const PULL_MAX = 256;
/** Bytes published between two checks of the live sockets' buffers. */
const PUBLISH_CHECK_BYTES = 256 * 1024;

const topicAll = (tenant: string) => `${tenant}\nall`;
const topicEntity = (tenant: string, entity: string) => `${tenant}\ne\n${entity}`;
const topicType = (tenant: string, type: string) => `${tenant}\nt\n${type}`;

function topicFor(tenant: string, f: SubscriptionFilter): string | null {
  if (f.eventTypePrefix !== undefined) return null;
  if (f.entityId !== undefined && f.eventType !== undefined) return null;
  if (f.entityId !== undefined) return topicEntity(tenant, f.entityId);
  if (f.eventType !== undefined) return topicType(tenant, f.eventType);
  return topicAll(tenant);
}

function parseFilter(message: ArrayBuffer): { filter: SubscriptionFilter; from?: number } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(message).toString('utf8'));
  } catch {
    throw new HttpError('INVALID_JSON', 'a filter message must be a JSON object');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError('VALIDATION_ERROR', 'a filter message must be a JSON object');
  }
  const v = value as Record<string, unknown>;
  const filter: SubscriptionFilter = {};
  for (const [field, key] of [
    ['entity_id', 'entityId'],
    ['event_type', 'eventType'],
    ['event_type_prefix', 'eventTypePrefix'],
  ] as const) {
    if (v[field] === undefined || v[field] === null) continue;
    if (typeof v[field] !== 'string') {
      throw new HttpError('VALIDATION_ERROR', `${field} must be a string`, { field });
    }
    filter[key] = v[field] as string;
  }
  const from = v.from_position;
  if (from === undefined || from === null) return { filter };
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 0) {
    throw new HttpError('VALIDATION_ERROR', 'from_position must be an integer >= 0', {
      field: 'from_position',
    });
  }
  return { filter, from };
}

function sendControl(ws: Socket, body: Record<string, unknown>): void {
  ws.send(JSON.stringify(body), false);
}

export function registerStream(
  app: TemplatedApp,
  store: Store,
  authenticate: (credentials: Credentials) => Caller | Promise<Caller>,
  options: StreamOptions,
  metrics: ServerMetrics,
): { closeAll(): void } {
  const sockets = new Set<Socket>();
  const publishers = new Map<string, Promise<Publisher>>();

  function goLive(ws: Socket, d: SocketData, pub: Publisher): void {
    const topic = d.topic!;
    ws.subscribe(topic);
    d.live = true;
    pub.liveTopics.set(topic, (pub.liveTopics.get(topic) ?? 0) + 1);
  }

  /** Leaves live mode (the socket may be closed already: then uWS has unsubscribed it). */
  function leaveLive(ws: Socket | null, d: SocketData, pub: Publisher): void {
    if (!d.live) return;
    const topic = d.topic!;
    if (ws !== null) ws.unsubscribe(topic);
    d.live = false;
    const left = (pub.liveTopics.get(topic) ?? 1) - 1;
    if (left > 0) pub.liveTopics.set(topic, left);
    else pub.liveTopics.delete(topic);
  }

  function demoteFullSockets(pub: Publisher): void {
    for (const ws of pub.sockets) {
      const d = ws.getUserData();
      if (!d.live || ws.getBufferedAmount() <= options.bufferedBytesMax) continue;
      leaveLive(ws, d, pub);
      // It has every event up to the publisher's position; the rest it pulls once drained.
      d.sub!.reset(d.filter, pub.position);
      void pump(ws);
    }
  }

  /** Follows the tenant's log for as long as the server runs; idles while nobody listens. */
  async function runPublisher(pub: Publisher): Promise<void> {
    while (!pub.sub.closed) {
      if (pub.sockets.size === 0) {
        await new Promise<void>((resolve) => {
          pub.wakeOnJoin = resolve;
        });
        continue;
      }
      const pull = pub.sub.pull(PULL_MAX);
      const all = topicAll(pub.tenantId);
      let sinceCheck = PUBLISH_CHECK_BYTES;
      for (const view of pull.events) {
        if (sinceCheck >= PUBLISH_CHECK_BYTES) {
          demoteFullSockets(pub);
          sinceCheck = 0;
        }
        const json = eventJson(view, pub.tenantJson, scratchFor);
        const toAll = pub.liveTopics.has(all);
        if (toAll) app.publish(all, json, false);
        // Entity and type topics are looked up only when some socket listens on one.
        if (pub.liveTopics.size > (toAll ? 1 : 0)) {
          const entity = topicEntity(pub.tenantId, view.entityId);
          if (pub.liveTopics.has(entity)) app.publish(entity, json, false);
          const type = topicType(pub.tenantId, view.eventType);
          if (pub.liveTopics.has(type)) app.publish(type, json, false);
        }
        sinceCheck += json.length;
        pub.position = view.position;
      }
      pub.position = Math.max(pub.position, pub.sub.position);
      for (const wake of pub.waiters.splice(0)) wake();
      if (pull.events.length === 0) await pub.sub.wait();
    }
    for (const wake of pub.waiters.splice(0)) wake();
  }

  function publisherFor(tenantId: string, tenantJson: string): Promise<Publisher> {
    let found = publishers.get(tenantId);
    if (found === undefined) {
      found = store.subscribe(tenantId, {}, store.stats(tenantId).lastPosition).then((sub) => {
        const pub: Publisher = {
          tenantId,
          tenantJson,
          sub,
          position: sub.position,
          sockets: new Set(),
          waiters: [],
          wakeOnJoin: null,
          liveTopics: new Map(),
        };
        void runPublisher(pub);
        return pub;
      });
      publishers.set(tenantId, found);
    }
    return found;
  }

  /** A socket joins: an idle publisher first skips to the log's end (nobody missed anything). */
  function join(pub: Publisher, ws: Socket): void {
    if (pub.sockets.size === 0) {
      const end = store.stats(pub.tenantId).lastPosition;
      pub.sub.reset({}, end);
      pub.position = end;
    }
    pub.sockets.add(ws);
    pub.wakeOnJoin?.();
    pub.wakeOnJoin = null;
  }

  function waitForPublisher(pub: Publisher): Promise<void> {
    return new Promise((resolve) => pub.waiters.push(resolve));
  }

  async function pump(ws: Socket): Promise<void> {
    const d = ws.getUserData();
    if (d.pumping || d.closed || d.live || d.sub === null || d.publisher === null) return;
    d.pumping = true;
    const pub = d.publisher;
    try {
      while (!d.closed && !d.live) {
        if (ws.getBufferedAmount() > options.bufferedBytesMax) return; // drain resumes
        const pull = d.sub.pull(PULL_MAX, d.topic === null ? undefined : pub.position);
        if (pull.events.length > 0) {
          ws.cork(() => {
            for (const view of pull.events) {
              ws.send(eventJson(view, d.caller.tenantJson, scratchFor), false);
            }
          });
        }
        if (!pull.caughtUp) continue;
        if (d.catchingUp) {
          d.catchingUp = false;
          sendControl(ws, { type: 'caught_up', position: d.sub.position });
        }
        if (d.topic !== null && d.sub.position === pub.position) {
          goLive(ws, d, pub);
          return;
        }
        await (d.topic === null ? d.sub.wait() : waitForPublisher(pub));
      }
    } catch (error) {
      if (!d.closed) {
        const typed = toHttpError(error);
        sendControl(ws, { type: 'error', code: typed.code, error: typed.message });
        ws.end(errorTable[typed.code].close, typed.message.slice(0, 120));
      }
    } finally {
      d.pumping = false;
    }
  }

  /** Applies a filter: leaves live mode, moves the cursor, pulls until it can go live. */
  function applyFilter(ws: Socket, filter: SubscriptionFilter, from: number | undefined): void {
    const d = ws.getUserData();
    const pub = d.publisher!;
    leaveLive(ws, d, pub);
    d.filter = filter;
    d.topic = topicFor(d.caller.tenantId, filter);
    d.sub!.reset(filter, from ?? pub.position);
    d.catchingUp = from !== undefined;
    void pump(ws);
  }

  app.ws<SocketData>('/api/v1/events/stream', {
    maxPayloadLength: options.messageBytesMax,
    // Our own limit (bufferedBytesMax) acts first; this one only guards against a bug.
    maxBackpressure: 1024 * 1024 * 1024,
    closeOnBackpressureLimit: 0,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade(res, req, context) {
      // Everything needed from req is read now: it is gone after the first await.
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const credentials: Credentials = {
        authorization: req.getHeader('authorization'),
        apiKey: req.getHeader('x-api-key'),
        token: new URLSearchParams(req.getQuery() ?? '').get('token') ?? '',
      };
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const span =
        options.tracing == null
          ? null
          : options.tracing.startServer('subscribe', req.getHeader('traceparent'), {
              'http.route': '/api/v1/events/stream',
            });
      const accept = (caller: Caller): void => {
        if ((caller.permissions & Permission.Read) === 0) {
          throw new HttpError('FORBIDDEN', 'this operation is not permitted for your role');
        }
        if (span !== null) {
          span.setAttribute('allsource.tenant', caller.tenantId);
          options.tracing!.finish(span, 101);
        }
        if (aborted) return;
        const data: SocketData = {
          caller,
          filter: {},
          sub: null,
          publisher: null,
          topic: null,
          live: false,
          pumping: false,
          catchingUp: false,
          closed: false,
        };
        res.cork(() => res.upgrade<SocketData>(data, key, protocol, extensions, context));
      };
      const reject = (error: unknown): void => {
        const typed = toHttpError(error);
        if (span !== null)
          options.tracing!.finish(span, Number.parseInt(errorTable[typed.code].status, 10));
        if (aborted) return;
        res.cork(() => {
          res
            .writeStatus(errorTable[typed.code].status)
            .writeHeader('content-type', 'application/json')
            .end(errorBody(typed));
        });
      };
      try {
        const caller = authenticate(credentials);
        if (caller instanceof Promise) caller.then(accept).catch(reject);
        else accept(caller);
      } catch (error) {
        reject(error);
      }
    },
    open(ws) {
      sockets.add(ws);
      metrics.websocket(1);
      const d = ws.getUserData();
      const { tenantId, tenantJson } = d.caller;
      publisherFor(tenantId, tenantJson)
        .then(async (pub) => {
          const sub = await store.subscribe(tenantId, {}, 0);
          if (d.closed) {
            sub.close();
            return;
          }
          d.sub = sub;
          d.publisher = pub;
          join(pub, ws);
          applyFilter(ws, {}, undefined);
        })
        .catch((error: unknown) => {
          if (!d.closed) ws.end(errorTable[toHttpError(error).code].close, 'subscription failed');
        });
    },
    message(ws, message) {
      const d = ws.getUserData();
      try {
        const { filter, from } = parseFilter(message);
        if (d.sub === null)
          throw new HttpError('SHUTTING_DOWN', 'the subscription is not ready yet; retry');
        applyFilter(ws, filter, from);
      } catch (error) {
        const typed = toHttpError(error);
        sendControl(ws, { type: 'error', code: typed.code, error: typed.message });
      }
    },
    drain(ws) {
      void pump(ws);
    },
    close(ws) {
      const d = ws.getUserData();
      d.closed = true;
      d.sub?.close();
      if (d.publisher !== null) leaveLive(null, d, d.publisher);
      d.publisher?.sockets.delete(ws);
      sockets.delete(ws);
      metrics.websocket(-1);
    },
  });

  return {
    closeAll() {
      for (const ws of sockets) ws.end(1001, 'server shutting down');
    },
  };
}
