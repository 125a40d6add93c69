/**
 * A loopback TCP proxy whose path can be cut, to simulate a network failure
 * between two parties while each stays reachable by other paths (the HA tests
 * cut the standby's underlay path to the primary but leave the public one).
 * It works below TLS, so certificates and pins pass through unchanged.
 */
import { connect, createServer, type Socket } from 'node:net';

/** Where {@link startTcpProxy} forwards to and where it listens. */
export interface TcpProxyOptions {
  /** The port of the party behind the proxy (a simulated controller's `port`). */
  targetPort: number;
  /** Default 127.0.0.1; the proxy itself listens on 127.0.0.1 only. */
  targetHost?: string;
  /** Default any free port. */
  port?: number;
}

/** A running proxy: connect to `127.0.0.1:<port>` instead of the target, cut and restore the path. */
export interface TcpProxy {
  readonly port: number;
  /** Connections accepted since start (proxied or refused). */
  readonly connections: number;
  readonly isCut: boolean;
  /** Destroys every live connection and resets new ones until `restore()`, as a dead path looks to a client. */
  cut(): void;
  /** Accepts and forwards new connections again. */
  restore(): void;
  /** Drops every connection and closes the listener. */
  stop(): Promise<void>;
}

/**
 * Starts a TCP proxy on 127.0.0.1 in front of `targetPort`; resolves once it listens. Throws the
 * listen error when `port` is taken.
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  const live = new Set<Socket>();
  let isCut = false;
  let connections = 0;

  // Half-open both ways so that a client's FIN is passed on and the reply still comes back.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    connections++;
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: targetHost, port: options.targetPort, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      live.add(s);
      s.setNoDelay(true);
      s.on('close', () => live.delete(s));
      // Errors on either side end both; the client sees the same failure a real path gives.
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy did not bind a TCP port');

  const dropAll = (): void => {
    for (const s of live) s.destroy();
    live.clear();
  };

  return {
    port: address.port,
    get connections() {
      return connections;
    },
    get isCut() {
      return isCut;
    },
    cut() {
      isCut = true;
      dropAll();
    },
    restore() {
      isCut = false;
    },
    async stop() {
      isCut = true;
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
