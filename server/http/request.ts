// The request path. Everything a handler needs from uWebSockets.js's request object is read
// here, synchronously (that object is gone after the first await), then the caller, its tenant
// and its permission for the route are resolved in one place before any handler runs.
// Quotas and rate limits slot in at `callerFor`.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Caller, Credentials } from '../auth/authenticate.js';
import { HttpError, toHttpError } from '../errors.js';
import type { ServerLogger } from '../log.js';
import type { Tracing } from '../tracing.js';
import { readBody } from './body.js';
import { type Exchange, sendError } from './reply.js';

/** For requests without a body: nothing to give back. */
const noRelease = (): void => {};

export interface RequestInfo {
  query: string;
  params: string[];
  contentType: string;
  authorization: string;
  apiKey: string;
  /** Filled only for routes that ask for it (login back-off). */
  remoteAddress: string;
}

export interface RequestPath {
  readonly shuttingDown: boolean;
  bodyBytesMax: number;
  inFlight: number;
  authenticate(credentials: Credentials): Caller | Promise<Caller>;
  /** Called once per finished request with its route pattern, status code and duration. */
  observe(route: string, status: number, seconds: number): void;
  /** Tenant checks after authorization (active tenant, rate limit); may add response headers. */
  admit(caller: Caller, ex: Exchange): void;
  /** The request's id from its `x-request-id`, or a new one. */
  requestId(incoming: string): string;
  log: ServerLogger;
  /** Log one line per finished request. */
  accessLog: boolean;
  /** null when tracing is off. */
  tracing: Tracing | null;
}

/** The caller of a public route: no tenant, no permissions. */
export const ANONYMOUS: Caller = {
  tenantId: '',
  tenantJson: '',
  role: 'readonly',
  permissions: 0,
  userId: null,
  keyId: null,
};

export type Handler = (
  ex: Exchange,
  info: RequestInfo,
  caller: Caller,
  body: Buffer | null,
) => void | Promise<void>;

export interface RouteOptions {
  /** The permission bit the caller needs; null for a public route. */
  permission: number | null;
  /** A request with no credentials at all runs as ANONYMOUS (the handler decides what it may do). */
  anonymous?: boolean;
  /** Trace this route under this span name when tracing is on. */
  span?: string;
  /** The route reads a JSON body. */
  body?: boolean;
  /** Number of :parameters in the pattern. */
  params?: number;
  /** The route needs the client's address. */
  address?: boolean;
}

function authorize(caller: Caller, permission: number): Caller {
  if ((caller.permissions & permission) === 0) {
    throw new HttpError('FORBIDDEN', 'this operation is not permitted for your role');
  }
  return caller;
}

/** The caller, checked against the route's permission and its tenant, synchronously when possible. */
function callerFor(
  path: RequestPath,
  options: RouteOptions,
  info: RequestInfo,
  ex: Exchange,
): Caller | Promise<Caller> {
  if (options.permission === null) return ANONYMOUS;
  if (options.anonymous && info.authorization === '' && info.apiKey === '') return ANONYMOUS;
  const permission = options.permission;
  const caller = path.authenticate(info);
  // The common case (a cached key or token) is synchronous and allocates no closure.
  if (caller instanceof Promise) return caller.then((c) => admit(path, c, permission, ex));
  return admit(path, caller, permission, ex);
}

function admit(path: RequestPath, caller: Caller, permission: number, ex: Exchange): Caller {
  authorize(caller, permission);
  path.admit(caller, ex);
  return caller;
}

function isJson(contentType: string): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType);
}

export function route(path: RequestPath, options: RouteOptions, handler: Handler, pattern: string) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const started = performance.now();
    const ex: Exchange = {
      res,
      aborted: false,
      headers: [],
      requestId: path.requestId(req.getHeader('x-request-id')),
    };
    const method = path.accessLog ? req.getMethod() : '';
    let tenant = '';
    if (path.tracing !== null && options.span !== undefined) {
      ex.span = path.tracing.startServer(options.span, req.getHeader('traceparent'), {
        'http.route': pattern,
        'http.request.method': req.getMethod().toUpperCase(),
        'allsource.request_id': ex.requestId!,
      });
    }
    res.onAborted(() => {
      ex.aborted = true;
    });
    const params: string[] = [];
    for (let i = 0; i < (options.params ?? 0); i++)
      params.push(decodeURIComponent(req.getParameter(i) ?? ''));
    const info: RequestInfo = {
      query: req.getQuery() ?? '',
      params,
      contentType: req.getHeader('content-type'),
      authorization: req.getHeader('authorization'),
      apiKey: req.getHeader('x-api-key'),
      remoteAddress: options.address ? Buffer.from(res.getRemoteAddressAsText()).toString() : '',
    };
    if (path.shuttingDown) {
      sendError(ex, new HttpError('SHUTTING_DOWN', 'the server is shutting down'), [
        ['connection', 'close'],
      ]);
      return;
    }
    path.inFlight++;
    const fail = (error: unknown): void => {
      const typed = toHttpError(error);
      if (typed.code === 'INTERNAL_ERROR' || typed.code === 'CORRUPTION') {
        // The details go to the log under the request's id; the client gets a generic message.
        path.log.error({ req_id: ex.requestId, route: pattern, err: error }, 'request failed');
      }
      sendError(ex, typed);
      finish();
    };
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      path.inFlight--;
      const status = ex.status === undefined ? 0 : Number.parseInt(ex.status, 10);
      const seconds = (performance.now() - started) / 1000;
      path.observe(pattern, status, seconds);
      if (ex.span !== undefined) path.tracing!.finish(ex.span, status);
      if (path.accessLog) {
        path.log.info(
          { req_id: ex.requestId, method, route: pattern, status, ms: seconds * 1000, tenant },
          'request',
        );
      }
    };
    /** `release` gives the body's memory back once the handler has settled (body.ts). */
    const run = (caller: Caller, body: Buffer | null, release: () => void): void => {
      tenant = caller.tenantId;
      if (ex.span !== undefined) {
        ex.span.setAttribute('allsource.tenant', tenant);
        if (body !== null) ex.span.setAttribute('http.request.body.size', body.length);
      }
      try {
        const result = handler(ex, info, caller, body);
        if (result instanceof Promise) {
          result.catch(fail).finally(() => {
            release();
            finish();
          });
        } else {
          release();
          finish();
        }
      } catch (error) {
        release();
        fail(error);
      }
    };
    try {
      const caller = callerFor(path, options, info, ex);
      if (!options.body) {
        if (caller instanceof Promise) caller.then((c) => run(c, null, noRelease), fail);
        else run(caller, null, noRelease);
        return;
      }
      if (!isJson(info.contentType)) {
        throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
      }
      res.onAborted(() => {
        ex.aborted = true;
        finish();
      });
      // The body must be read from here, synchronously, whatever the caller turns out to be.
      readBody(
        res,
        path.bodyBytesMax,
        (body, release) => {
          if (caller instanceof Promise) caller.then((c) => run(c, body, release), fail);
          else run(caller, body, release);
        },
        (error) => {
          sendError(ex, error, [['connection', 'close']]);
          finish();
        },
      );
    } catch (error) {
      fail(error);
    }
  };
}
