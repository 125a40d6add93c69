import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Listener, RequestLogEntry, SimController } from './controller.js';
import { MESSAGES, SimApiError } from './errors.js';
import { settleKeyset } from './operations/keyset.js';
import type { OperationTable } from './operations/types.js';
import type { OperationSpec, SpecValidator } from './validate.js';

const MAX_BODY_BYTES = 1024 * 1024;

export interface ServerOptions {
  operations: OperationTable;
  validator: SpecValidator;
  /** Checks every reply against the spec and turns a mismatch into a 500 (for our own tests). */
  validateResponses: boolean;
  sleep: (ms: number) => Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, contentType = 'application/json'): void {
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

function authorized(ctl: SimController, req: IncomingMessage): boolean {
  const token = req.headers['api-token'];
  if (typeof token === 'string' && token.length > 0) return token === ctl.apiToken;
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const sep = decoded.indexOf(':');
  return sep > 0 && decoded.slice(0, sep) === 'api' && decoded.slice(sep + 1) === ctl.password;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SimApiError(413, 'Request body too large.', 'APIArgumentError');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Decides which fault, if any, hits this request; one-shot counters first, then the random rates. */
function pickFault(ctl: SimController): 'drop' | 'error' | 'hang' | undefined {
  const f = ctl.faults;
  if (f.hangNext > 0) return (f.hangNext--, 'hang');
  if (f.dropNext > 0) return (f.dropNext--, 'drop');
  if (f.errorNext > 0) return (f.errorNext--, 'error');
  const r = ctl.world.random();
  if (r < f.hangRate) return 'hang';
  if (r < f.hangRate + f.dropRate) return 'drop';
  if (r < f.hangRate + f.dropRate + f.errorRate) return 'error';
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
  const problem = validator.checkBody(op, body);
  if (problem) throw new SimApiError(400, problem, 'APIArgumentError');
  return body;
}

/** Finds the operation, runs it and wraps its result; throws `SimApiError` for every refusal. */
async function runOperation(ctl: SimController, req: IncomingMessage, method: string, url: URL, options: ServerOptions): Promise<string> {
  const path = url.pathname.slice(4);
  const found = options.validator.match(method, path);
  if (found === 'method-not-allowed') throw new SimApiError(405, `Method ${method} not allowed on ${path}.`, 'MethodNotAllowed');
  if (!found) throw new SimApiError(404, `Unknown API endpoint: ${method} /api${path}`, 'NotFound');
  const op = options.operations[`${method} ${found.op.template}`];
  if (!op) throw new SimApiError(501, `${method} ${found.op.template} is not simulated.`, 'NotImplemented');
  const body = parseBody(found.op, await readBody(req), options.validator);
  settleKeyset(ctl);
  const result = await op({ ctl, params: found.params, query: url.searchParams, body });
  const envelope = { response: result };
  if (options.validateResponses) {
    const problem = options.validator.checkResponse(method, path, 200, envelope);
    if (problem) throw new SimApiError(500, `Simulator reply violates spec: ${problem}`, 'SpecViolation');
  }
  return JSON.stringify(envelope);
}

/**
 * What a request meets before the API sees it: injected faults, the latency, the web front while
 * the API reboots, the path and the credentials. Returns the status it was answered with, or
 * undefined when the API should serve it.
 */
async function screen(ctl: SimController, req: IncomingMessage, res: ServerResponse, url: URL, options: ServerOptions): Promise<RequestLogEntry['status'] | undefined> {
  const fault = pickFault(ctl);
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
  if (now < ctl.unavailableUntil) {
    // First the proxy finds nothing behind it (502), then the app reports itself starting (503).
    const status = ctl.unavailableUntil - now > ctl.world.timings.reboot5xxMs / 2 ? 502 : 503;
    sendGatewayPage(res, status);
    return status;
  }
  if (!url.pathname.startsWith('/api/')) {
    sendError(res, 404, 'NotFound', `Not found: ${url.pathname}`);
    return 404;
  }
  if (!authorized(ctl, req)) {
    sendError(res, 401, 'Unauthorized', MESSAGES.authFailed);
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
    ctl.requestLog.push({ method, path: url.pathname, status, at: started, durationMs: Date.now() - started });
  };
  const refused = await screen(ctl, req, res, url, options);
  if (refused !== undefined) return log(refused);
  if (method !== 'GET' && method !== 'HEAD') ctl.writes++;
  let status = 200;
  try {
    send(res, 200, await runOperation(ctl, req, method, url, options));
  } catch (err) {
    const known = err instanceof SimApiError;
    status = known ? err.status : 500;
    sendError(res, status, known ? err.errorName : 'ServerError', known ? err.message : 'Internal server error.');
  }
  log(status);
  if (ctl.rebootAfterReply) {
    ctl.rebootAfterReply = false;
    // The reply must reach the client before the controller goes down, as on a real one.
    res.once('finish', () => void ctl.reboot());
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
