import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Listener, RequestLogEntry, SimController } from './controller.js';
import { MESSAGES, SimApiError } from './errors.js';
import { notSimulated } from './not-simulated.js';
import { OpReply, type OperationTable } from './operations/types.js';
import { TOKEN_REFUSED } from './access-state.js';
import type { OperationSpec, SpecValidator } from './validate.js';

const MAX_BODY_BYTES = 1024 * 1024;

export interface ServerOptions {
  operations: OperationTable;
  validator: SpecValidator;
  /** Checks every reply against the spec and turns a mismatch into a 500 (for our own tests). */
  validateResponses: boolean;
  sleep: (ms: number) => Promise<void>;
}

function send(res: ServerResponse, status: number, body: string | Buffer, contentType = 'application/json'): void {
  // One write with a length: a reply split in pieces meets Nagle and delayed ACKs (~40 ms each).
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, name: string, message: string): void {
  send(res, status, JSON.stringify({ error: { name, message } }));
}

/** What the web front in front of the API answers while the API itself is down. */
function sendGatewayPage(res: ServerResponse, status: 502 | 503): void {
  const title = status === 502 ? '502 Bad Gateway' : '503 Service Temporarily Unavailable';
  send(res, status, `<html><head><title>${title}</title></head><body><center><h1>${title}</h1></center></body></html>`, 'text/html');
}

/**
 * Undefined when the request may go on; otherwise the 401's message. A token in the `api-token`
 * header is the controller's own or one created through `POST /access/token` and still live; an
 * expired or deleted one answers the controller's `Invalid or expired token`.
 */
function refusal(ctl: SimController, req: IncomingMessage): string | undefined {
  const token = req.headers['api-token'];
  if (typeof token === 'string' && token.length > 0) {
    if (token === ctl.apiToken || ctl.access.authenticate(token, remoteAddress(req), Date.now())) return undefined;
    return TOKEN_REFUSED;
  }
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return MESSAGES.authFailed;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const sep = decoded.indexOf(':');
  return sep > 0 && decoded.slice(0, sep) === 'api' && decoded.slice(sep + 1) === ctl.password ? undefined : MESSAGES.authFailed;
}

const remoteAddress = (req: IncomingMessage): string => (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SimApiError(413, 'Request body too large.', 'APIArgumentError');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

type Fault = 'drop' | 'error' | 'hang' | 'drop-reply';

/** Decides which fault, if any, hits this request; one-shot counters first, then the random rates. */
function pickFault(ctl: SimController): Fault | undefined {
  const f = ctl.faults;
  if (f.hangNext > 0) return (f.hangNext--, 'hang');
  if (f.dropNext > 0) return (f.dropNext--, 'drop');
  if (f.errorNext > 0) return (f.errorNext--, 'error');
  if (f.dropReplyNext > 0) return (f.dropReplyNext--, 'drop-reply');
  const r = ctl.world.random();
  let edge = 0;
  for (const [fault, rate] of [['hang', f.hangRate], ['drop', f.dropRate], ['error', f.errorRate], ['drop-reply', f.dropReplyRate]] as const) {
    edge += rate;
    if (r < edge) return fault;
  }
  return undefined;
}

/** Turns the request's text into the body the operation takes, refusing what the spec refuses. */
function parseBody(op: OperationSpec, text: string, validator: SpecValidator): unknown {
  if (op.bodyContentType === 'text/plain') {
    if (op.bodyRequired && text.trim() === '') throw new SimApiError(400, 'Request body is required.', 'APIArgumentError');
    return text;
  }
  if (!op.validateBody) return undefined;
  // Clients send `Content-Type: application/json` even on GET; only a body that is present must parse.
  if (text.trim() === '') {
    if (op.bodyRequired) throw new SimApiError(400, 'Request body is required.', 'APIArgumentError');
    return {};
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SimApiError(400, 'Invalid JSON in request body.', 'APIArgumentError');
  }
  // Generated clients send unset optional fields as null, and older clients booleans as strings.
  body = validator.normalizeBody(op, body);
  const problem = validator.checkBody(op, body);
  if (problem) throw new SimApiError(400, problem, 'APIArgumentError');
  return body;
}

/** A success as sent: the JSON envelope, or a file's bytes. */
interface Success {
  status: number;
  contentType: string;
  body: string | Buffer;
}

/** Finds the operation, runs it and wraps its result; throws `SimApiError` for every refusal. */
async function runOperation(ctl: SimController, req: IncomingMessage, method: string, url: URL, options: ServerOptions): Promise<Success> {
  const path = url.pathname.slice(4);
  const found = options.validator.match(method, path);
  if (found === 'method-not-allowed') throw new SimApiError(405, `Method ${method} not allowed on ${path}.`, 'MethodNotAllowed');
  if (!found) throw new SimApiError(404, `Unknown API endpoint: ${method} /api${path}`, 'NotFound');
  const op = options.operations[`${method} ${found.op.template}`];
  // withNotSimulated gives every spec operation a handler; this only guards a table built without it.
  if (!op) throw notSimulated(method, found.op.template);
  const rawBody = await readBody(req);
  const body = parseBody(found.op, rawBody.toString('utf8'), options.validator);
  const result = await op({ ctl, params: found.params, query: url.searchParams, body, rawBody, remoteAddress: remoteAddress(req) });
  if (result instanceof OpReply && result.file) return { status: result.status, contentType: result.file.contentType, body: result.file.bytes };
  const status = result instanceof OpReply ? result.status : 200;
  const envelope = { response: result instanceof OpReply ? result.response : result };
  if (options.validateResponses) {
    const problem = options.validator.checkResponse(method, path, status, envelope);
    if (problem) throw new SimApiError(500, `Simulator reply violates spec: ${problem}`, 'SpecViolation');
  }
  return { status, contentType: 'application/json', body: JSON.stringify(envelope) };
}

/**
 * What a request meets before the API sees it: injected faults, the latency, the web front while
 * the API reboots, the path and the credentials. Returns the status it was answered with, or
 * undefined when the API should serve it.
 */
async function screen(ctl: SimController, req: IncomingMessage, res: ServerResponse, url: URL, options: ServerOptions, fault: Fault | undefined): Promise<RequestLogEntry['status'] | undefined> {
  if (!ctl.isUp()) {
    // Going down (a reboot has begun, the listener is closing): nothing answers any more.
    req.socket.destroy();
    return 'refused';
  }
  if (fault === 'hang') return 'hung'; // the socket is destroyed only when the controller stops
  if (fault === 'drop') {
    req.socket.destroy();
    return 'dropped';
  }
  const latency = ctl.faults.latencyMs + ctl.world.timings.requestLatencyMs;
  if (latency > 0) await options.sleep(latency);
  if (fault === 'error') {
    sendGatewayPage(res, 503);
    return 503;
  }
  const now = Date.now();
  const { until, cause } = ctl.unavailable;
  if (now < until) {
    // After a reboot the proxy first finds nothing behind it (502), then the app reports itself
    // starting (503); while the API resets itself after PUT /admin_ui it is 502 throughout.
    const status = cause === 'admin-ui' || until - now > ctl.world.timings.reboot5xxMs / 2 ? 502 : 503;
    sendGatewayPage(res, status);
    return status;
  }
  if (!url.pathname.startsWith('/api/')) {
    sendError(res, 404, 'NotFound', `Not found: ${url.pathname}`);
    return 404;
  }
  const refused = refusal(ctl, req);
  if (refused !== undefined) {
    sendError(res, 401, refused === TOKEN_REFUSED ? 'UnauthorizedError' : 'Unauthorized', refused);
    return 401;
  }
  return undefined;
}

/** Answers one request as the controller's web front and API would, and logs it. */
async function handle(ctl: SimController, req: IncomingMessage, res: ServerResponse, options: ServerOptions): Promise<void> {
  const started = Date.now();
  const url = new URL(req.url ?? '/', 'https://controller');
  const method = (req.method ?? 'GET').toUpperCase();
  const log = (status: RequestLogEntry['status']): void => {
    ctl.logRequest({ method, path: url.pathname, status, at: started, durationMs: Date.now() - started });
  };
  const fault = pickFault(ctl);
  const refused = await screen(ctl, req, res, url, options, fault);
  if (refused !== undefined) return log(refused);
  if (method !== 'GET' && method !== 'HEAD') ctl.writes++;
  if (ctl.fetchReboot) ctl.fetchReboot.held = false;
  const reply = await answer(ctl, req, method, url, options);
  // A reboot a fetch owes waits for the first reply after a `Keyset already exists.` (see keyset.ts).
  if (ctl.fetchReboot?.fired && !ctl.fetchReboot.held) {
    ctl.fetchReboot = undefined;
    ctl.rebootAfterReply = true;
  }
  const reboot = ctl.rebootAfterReply;
  ctl.rebootAfterReply = false;
  if (fault === 'drop-reply') {
    // Applied, then the connection is cut where the reply would go: the outcome is unknown to the client.
    req.socket.destroy();
    log('reply-dropped');
    if (reboot) void ctl.reboot();
    return;
  }
  if (reply.status >= 200 && reply.status < 300) send(res, reply.status, reply.body, reply.contentType);
  else sendError(res, reply.status, reply.name, String(reply.body));
  log(reply.status);
  // The reply must reach the client before the controller goes down, as on a real one.
  if (reboot) res.once('finish', () => void ctl.reboot());
}

/** Runs the operation: a 200 with its envelope, or the status, error name and message of the refusal. */
async function answer(ctl: SimController, req: IncomingMessage, method: string, url: URL, options: ServerOptions): Promise<Success & { name: string }> {
  try {
    return { ...(await runOperation(ctl, req, method, url, options)), name: '' };
  } catch (err) {
    const json = 'application/json';
    if (err instanceof SimApiError) return { status: err.status, name: err.errorName, body: err.message, contentType: json };
    return { status: 500, name: 'ServerError', body: 'Internal server error.', contentType: json };
  }
}

/** Listens on 127.0.0.1 at the controller's port (any free one for port 0) and records the port taken. */
async function listen(ctl: SimController, sockets: Set<Socket>, options: ServerOptions): Promise<Server> {
  const server = createServer({ key: ctl.certificate.key, cert: ctl.certificate.cert, keepAliveTimeout: 30_000, noDelay: true }, (req, res) => {
    handle(ctl, req, res, options).catch(() => res.destroy());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ctl.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address && typeof address === 'object') ctl.port = address.port;
  return server;
}

/** The controller's HTTPS front, opened and closed as it boots, reboots and crashes. */
export function attachServer(ctl: SimController, options: ServerOptions): Listener {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    async open() {
      if (server?.listening) return;
      server = await listen(ctl, sockets, options);
    },
    async close() {
      const s = server;
      server = undefined;
      if (!s) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      // close() alone leaves keep-alive and in-flight (hung) sockets open; a rebooting box drops them.
      s.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await closed;
    },
  };
}
