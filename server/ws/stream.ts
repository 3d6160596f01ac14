// WebSocket /api/v1/events/stream. Each socket owns an engine subscription (a cursor over its
// tenant's log). Events are pulled from the log while the socket's send buffer is under the
// limit; past it, pulling stops until the socket drains, so a slow client is served from the
// log and never makes the server buffer without bound. Catch-up and live events come from the
// same cursor: no gap and no duplicate at the switch.
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import {
  eventJson,
  type Store,
  type Subscription,
  type SubscriptionFilter,
} from '../../engine/index.js';
import { HttpError as Err, errorTable, type HttpError, toHttpError } from '../errors.js';
import { type Caller, resolveCaller } from '../http/request.js';
import type { ServerMetrics } from '../metrics.js';

interface SocketData {
  caller: Caller;
  sub: Subscription | null;
  pumping: boolean;
  /** A from_position catch-up is running: send caught_up when it reaches the end. */
  catchingUp: boolean;
  closed: boolean;
}

export interface StreamOptions {
  bufferedBytesMax: number;
  messageBytesMax: number;
}

const PULL_MAX = 256;

function parseFilter(message: ArrayBuffer): { filter: SubscriptionFilter; from?: number } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(message).toString('utf8'));
  } catch {
    throw new Err('INVALID_JSON', 'a filter message must be a JSON object');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Err('VALIDATION_ERROR', 'a filter message must be a JSON object');
  }
  const v = value as Record<string, unknown>;
  const filter: SubscriptionFilter = {};
  for (const [field, key] of [
    ['entity_id', 'entityId'],
    ['event_type', 'eventType'],
    ['event_type_prefix', 'eventTypePrefix'],
  ] as const) {
    if (v[field] === undefined || v[field] === null) continue;
    if (typeof v[field] !== 'string')
      throw new Err('VALIDATION_ERROR', `${field} must be a string`, { field });
    filter[key] = v[field] as string;
  }
  const from = v.from_position;
  if (from === undefined || from === null) return { filter };
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 0) {
    throw new Err('VALIDATION_ERROR', 'from_position must be an integer >= 0', {
      field: 'from_position',
    });
  }
  return { filter, from };
}

function sendControl(ws: WebSocket<SocketData>, body: Record<string, unknown>): void {
  ws.send(JSON.stringify(body), false);
}

function sendError(ws: WebSocket<SocketData>, error: HttpError): void {
  sendControl(ws, { type: 'error', code: error.code, error: error.message });
}

export function registerStream(
  app: TemplatedApp,
  store: Store,
  options: StreamOptions,
  metrics: ServerMetrics,
): {
  closeAll(): void;
} {
  const sockets = new Set<WebSocket<SocketData>>();

  async function pump(ws: WebSocket<SocketData>): Promise<void> {
    const data = ws.getUserData();
    if (data.pumping || data.closed || data.sub === null) return;
    data.pumping = true;
    try {
      while (!data.closed) {
        if (ws.getBufferedAmount() > options.bufferedBytesMax) return; // resumed by drain
        const pull = data.sub.pull(PULL_MAX);
        ws.cork(() => {
          for (const view of pull.events) ws.send(eventJson(view, data.caller.tenantJson), false);
          if (pull.caughtUp && data.catchingUp) {
            data.catchingUp = false;
            sendControl(ws, { type: 'caught_up', position: data.sub!.position });
          }
        });
        if (pull.events.length === 0) await data.sub.wait();
      }
    } catch (error) {
      if (!data.closed) {
        const typed = toHttpError(error);
        sendError(ws, typed);
        ws.end(errorTable[typed.code].close, typed.message.slice(0, 120));
      }
    } finally {
      data.pumping = false;
    }
  }

  app.ws<SocketData>('/api/v1/events/stream', {
    maxPayloadLength: options.messageBytesMax,
    maxBackpressure: options.bufferedBytesMax * 4,
    closeOnBackpressureLimit: 0,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade(res, req, context) {
      const info = {
        query: req.getQuery() ?? '',
        params: [],
        contentType: '',
        authorization: req.getHeader('authorization'),
        apiKey: req.getHeader('x-api-key'),
      };
      const caller = resolveCaller(info);
      res.upgrade<SocketData>(
        { caller, sub: null, pumping: false, catchingUp: false, closed: false },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open(ws) {
      sockets.add(ws);
      metrics.websocket(1);
      const data = ws.getUserData();
      // Live from the current end until the client asks for a from_position.
      store
        .subscribe(data.caller.tenantId, {}, store.stats(data.caller.tenantId).lastPosition)
        .then((sub) => {
          if (data.closed) sub.close();
          else {
            data.sub = sub;
            void pump(ws);
          }
        })
        .catch((error: unknown) => {
          if (!data.closed)
            ws.end(errorTable[toHttpError(error).code].close, 'subscription failed');
        });
    },
    message(ws, message) {
      const data = ws.getUserData();
      try {
        const { filter, from } = parseFilter(message);
        if (data.sub === null)
          throw new Err('SHUTTING_DOWN', 'the subscription is not ready yet; retry');
        data.sub.reset(filter, from);
        data.catchingUp = from !== undefined;
        void pump(ws);
      } catch (error) {
        sendError(ws, toHttpError(error));
      }
    },
    drain(ws) {
      void pump(ws);
    },
    close(ws) {
      const data = ws.getUserData();
      data.closed = true;
      data.sub?.close();
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
