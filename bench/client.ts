/**
 * `npm run bench -- client [--gets 2000] [--posts 1000] [--concurrency 16] [--rounds 3]`
 *
 * The cost of the client's request paths: the same GETs and POSTs, with as many in flight as a
 * mesh macro keeps (16 by default, the bulk default), through
 *   (a) the typed verbs (undici's request(), no WHATWG objects),
 *   (b) the typed verbs with one no-op middleware registered (openapi-fetch's Request/Response path),
 *   (c) `client.raw` (openapi-fetch over the same transport).
 * The server is a small HTTPS server on 127.0.0.1 in a child process answering VNS3-shaped JSON, so
 * that `process.cpuUsage()` here counts the client only. The modes take turns, round after round,
 * so that drift (JIT, CPU frequency) spreads over all three. Figures only; nothing passes or fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { generate } from 'selfsigned';
import { createClient, type Middleware, type Vns3Client } from '../src/index.js';

type Mode = 'typed' | 'typed+middleware' | 'raw';
const MODES: Mode[] = ['typed', 'typed+middleware', 'raw'];
/** Stop starting rounds after this long: the bench is bounded in time as well as in count. */
const TIME_BUDGET_MS = 120_000;

/** Runs in the child: answers GET /config and POST /routes as a controller would, with small bodies. */
const SERVER = `
import https from 'node:https';
const config = JSON.stringify({ response: { vns3_version: '6.6.1-20240501', topology_name: 'bench', licensed: true,
  peered: true, private_ipaddress: '10.0.1.10', public_ipaddress: '198.51.100.10', subnet_gateway: '10.0.1.1',
  topology_checksum: 'a'.repeat(40), ntp_hosts: '0.pool.ntp.org', security_token: null, clientpack_ip: '172.16.0.1' } });
const server = https.createServer({ cert: process.env.BENCH_CERT, key: process.env.BENCH_KEY, keepAliveTimeout: 10_000 }, (req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const text = req.method === 'POST' ? JSON.stringify({ response: { '1': { id: 1, ...JSON.parse(body), enabled: true } } }) : config;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

interface Figures {
  mode: Mode;
  wallMs: number;
  cpuMs: number;
}

async function startServer(): Promise<{ child: ChildProcess; port: number; fingerprint256: string }> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER], {
    env: { ...process.env, BENCH_CERT: pems.cert, BENCH_KEY: pems.private },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bench server did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`the bench server exited with ${code}`)));
    child.stdout!.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(Number(chunk.toString('utf8').trim()));
    });
  });
  return { child, port, fingerprint256: new X509Certificate(pems.cert).fingerprint256 };
}

/** One request of the given kind through the given path; throws unless the answer is a 200. */
function requester(client: Vns3Client, mode: Mode): (kind: 'get' | 'post', i: number) => Promise<unknown> {
  const route = (i: number) => ({ cidr: `10.${(i >> 8) & 255}.${i & 255}.0/24`, description: `bench ${i}` });
  if (mode === 'raw') {
    return async (kind, i) => {
      const { response } = kind === 'get' ? await client.raw.GET('/config') : await client.raw.POST('/routes', { body: route(i) });
      if (response.status !== 200) throw new Error(`raw ${kind} answered ${response.status}`);
    };
  }
  return (kind, i) => (kind === 'get' ? client.get('/config') : client.post('/routes', { body: route(i) }));
}

/** `gets` GETs and `posts` POSTs, interleaved, `concurrency` in flight; wall time and this process's CPU. */
async function measure(client: Vns3Client, mode: Mode, gets: number, posts: number, concurrency: number): Promise<Figures> {
  const send = requester(client, mode);
  const total = gets + posts;
  // The POSTs spread evenly among the GETs, as a macro's reads and writes mix.
  const kindOf = (i: number): 'get' | 'post' => (Math.floor(((i + 1) * posts) / total) > Math.floor((i * posts) / total) ? 'post' : 'get');
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        await send(kindOf(i), i);
      }
    }),
  );
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { mode, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

function clientFor(port: number, fingerprint256: string, mode: Mode): Vns3Client {
  const client = createClient({ host: `127.0.0.1:${port}`, password: 'bench-password', fingerprint256, retry: false });
  if (mode === 'typed+middleware') {
    const noop: Middleware = { onRequest: () => undefined };
    client.use(noop);
  }
  return client;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      gets: { type: 'string', default: '2000' },
      posts: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const bounded = (name: string, text: string, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
    return n;
  };
  const gets = bounded('gets', values.gets, 100_000);
  const posts = bounded('posts', values.posts, 100_000);
  const concurrency = bounded('concurrency', values.concurrency, 256);
  const rounds = bounded('rounds', values.rounds, 20);

  const { child, port, fingerprint256 } = await startServer();
  const clients = new Map(MODES.map((mode) => [mode, clientFor(port, fingerprint256, mode)] as const));
  try {
    console.log(`client benchmark: ${gets} GET /config + ${posts} POST /routes, ${concurrency} in flight, ${rounds} rounds; server in a child process`);
    // Warm-up: connections, TLS sessions and the JIT, for every path, before anything is measured.
    for (const mode of MODES) await measure(clients.get(mode)!, mode, gets, posts, concurrency);

    const figures: Figures[] = [];
    const budgetEnds = performance.now() + TIME_BUDGET_MS;
    for (let round = 0; round < rounds && performance.now() < budgetEnds; round++) {
      for (const mode of MODES) figures.push(await measure(clients.get(mode)!, mode, gets, posts, concurrency));
    }

    const total = gets + posts;
    console.log(`\n  ${'path'.padEnd(18)}${'wall ms'.padStart(10)}${'CPU ms'.padStart(10)}${'CPU µs/req'.padStart(12)}${'req/s'.padStart(9)}   (medians of ${figures.length / MODES.length} rounds)`);
    const base = median(figures.filter((f) => f.mode === 'typed').map((f) => f.cpuMs));
    for (const mode of MODES) {
      const mine = figures.filter((f) => f.mode === mode);
      const wall = median(mine.map((f) => f.wallMs));
      const cpu = median(mine.map((f) => f.cpuMs));
      const ratio = mode === 'typed' ? '' : `   CPU ×${(cpu / base).toFixed(2)} of typed`;
      console.log(
        `  ${mode.padEnd(18)}${wall.toFixed(0).padStart(10)}${cpu.toFixed(0).padStart(10)}${((cpu * 1000) / total).toFixed(0).padStart(12)}${((total * 1000) / wall).toFixed(0).padStart(9)}${ratio}`,
      );
    }
    console.log(`\n  every round: ${figures.map((f) => `${f.mode} ${f.wallMs.toFixed(0)}/${f.cpuMs.toFixed(0)}`).join(', ')} (wall/CPU ms)`);
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
    child.kill('SIGTERM');
  }
}
