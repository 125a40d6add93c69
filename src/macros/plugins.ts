/**
 * The container system ("network edge plugins"): start it and wait until it
 * runs. Mirrors the Python SDK's `network_edge_plugins` macros, but reads what
 * the controller has first, so running it twice writes nothing the second time.
 * Images are in images.ts, containers and their logs in containers.ts.
 */
import type { Vns3Client } from '../client/index.js';
import { emit } from '../events.js';
import type { WaitingMacroOptions } from './options.js';
import { pollUntil } from './wait.js';

export interface ContainerSystemStatus {
  /** CIDR of the container (plugin) network. */
  network: string;
  /** Whether this call started the container system. */
  started: boolean;
}

/** Starts the container system unless it runs, and waits until it does. */
export async function ensureContainerSystem(client: Vns3Client, opts: WaitingMacroOptions = {}): Promise<ContainerSystemStatus> {
  const { signal, onEvent } = opts;
  const controller = client.host;
  let state = await client.get('/container_system', { signal });
  if (state.running === true) return { network: state.network, started: false };
  const wait = (what: string, done: (r: typeof state.running) => boolean) =>
    pollUntil(
      { what, controller, probe: (s) => client.get('/container_system', { signal: s }), done: (st) => done(st.running), describe: (st) => `running: ${String(st.running)}` },
      { timeoutMs: opts.timeoutMs ?? 120_000, intervalMs: opts.intervalMs ?? 250, signal, onEvent },
    );
  // A start sent while it is stopping would be lost: let the stop finish first.
  if (state.running === 'stopping') state = await wait('container system to stop', (r) => r === false);
  if (state.running === false) {
    emit(onEvent, { controller, step: 'plugins.system', detail: 'starting the container system' });
    await client.post('/container_system', { body: { action: 'start' }, signal, retry: true });
  }
  state = await wait('container system to start', (r) => r === true);
  return { network: state.network, started: true };
}
