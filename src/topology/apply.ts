/**
 * `applyTopology`: plans, then runs the SDK's idempotent macros in the order of the peering-mesh
 * tutorial (root license and keyset, keyset fetches, peer ids, peer routes, peering, subnet
 * advertisements), then the extra routes, firewall policies, plugins and HA pairs, the IPsec
 * bridges (each waited for until its tunnel is connected), waits for the mesh and reads it back. Every step reads before it writes, so a second apply writes nothing.
 */
import { Deadline } from '../abort.js';
import type { Vns3Client } from '../client/index.js';
import { emit, type Vns3EventHandler } from '../events.js';
import {
  assertBulkOk,
  createPeerMeshLocalGatewayRoutes,
  createRouteAdvertisements,
  deployHaPlugin,
  ensureContainer,
  ensureFirewallPolicy,
  ensureImage,
  ensureRouteTable,
  fetchKeysets,
  peerMesh,
  peeringEntries,
  pollUntil,
  runBulk,
  setPeerIds,
  setupController,
  waitForMesh,
} from '../macros/index.js';
import { applyBridges } from './bridges.js';
import { Vns3TopologyNotReachedError, Vns3TopologyPlanError } from './errors.js';
import { connectTopology, observeTopology, type Observation } from './observe.js';
import { haInput, linkedNames, planFromObservations, type TopologyPlan } from './plan.js';
import { statusFromObservations, type TopologyStatus } from './status.js';
import type { Topology, TopologyController } from './types.js';

/** How `applyTopology` runs. */
export interface ApplyTopologyOptions {
  /** Progress: every macro's events, plus `topology.phase` at each phase and `topology.plan` with the plan. */
  onEvent?: Vns3EventHandler;
  /** Stops every request and wait with its reason. */
  signal?: AbortSignal;
  /** Overall limit of the apply, waits included; default 30 minutes. */
  timeoutMs?: number;
  /** Controllers worked on at once; default 16. */
  concurrency?: number;
  /** Called with the plan as soon as it is made (before the problem check and `confirm`). */
  onPlan?: (plan: TopologyPlan) => void;
  /** Called with a plan that has changes, before anything is written; resolve false to stop without writing (a declined confirmation). */
  confirm?: (plan: TopologyPlan) => Promise<boolean> | boolean;
  /** Clients to use (one per controller, in order); default new ones, closed at the end. */
  clients?: readonly Vns3Client[];
}

/** What `applyTopology` did: the plan it followed, and the mesh as read back afterwards. */
export interface ApplyTopologyResult {
  plan: TopologyPlan;
  /** False when the confirmation was declined (nothing written). */
  applied: boolean;
  status: TopologyStatus;
  elapsedMs: number;
}

const DEFAULT_APPLY_TIMEOUT_MS = 30 * 60_000;

interface Run {
  topology: Topology;
  clients: readonly Vns3Client[];
  signal: AbortSignal;
  onEvent?: Vns3EventHandler;
  concurrency?: number;
  /** The first read: addresses for keyset source and peering come from it. */
  observations: Observation[];
}

const phase = (run: Run, detail: string): void => emit(run.onEvent, { controller: '*', step: 'topology.phase', detail });

/** Runs fn for each controller with something of its own to apply (routes, firewall, plugins). */
async function perController(run: Run, step: string, wants: (c: TopologyController) => boolean, fn: (c: TopologyController, client: Vns3Client, signal?: AbortSignal) => Promise<unknown>): Promise<void> {
  const items = run.topology.controllers.map((c, i) => ({ c, client: run.clients[i]! })).filter((x) => wants(x.c));
  if (items.length === 0) return;
  assertBulkOk(await runBulk(items, (x) => x.c.name, (x, ctx) => fn(x.c, x.client, ctx.signal), { concurrency: run.concurrency, signal: run.signal, onEvent: run.onEvent, step }), step);
}

async function meshPhases(run: Run): Promise<void> {
  const { topology, clients, signal, onEvent, concurrency } = run;
  const common = { signal, onEvent, concurrency };
  const rootIndex = topology.controllers.findIndex((c) => c.name === topology.root);
  const root = clients[rootIndex]!;
  const others = clients.filter((_, i) => i !== rootIndex);
  phase(run, `${topology.root}: license, parameters, reboot, keyset`);
  await setupController(
    root,
    { topologyName: topology.name, license: topology.license.text.reveal(), licenseParameters: topology.license.parameters, keysetToken: topology.keysetToken.reveal() },
    { signal, onEvent },
  );
  if (others.length > 0) {
    phase(run, `the others fetch the keyset from ${topology.root}`);
    const source = run.observations[rootIndex]!.state!.privateIp;
    assertBulkOk(await fetchKeysets(others, { source, token: topology.keysetToken.reveal() }, common), 'fetch keysets');
  }
  phase(run, 'peer ids');
  assertBulkOk(await setPeerIds(clients, { ...common, ids: topology.controllers.map((c) => c.peerId) }), 'set peer ids');
  const subnets = topology.controllers.map((c) => c.subnet);
  if (topology.peering.peerRoutes && clients.length > 1) {
    phase(run, '/32 routes to every peer via the local subnet gateway');
    assertBulkOk(await createPeerMeshLocalGatewayRoutes(clients, { subnets }, common), 'create peer routes');
  }
  phase(run, `peering (${topology.peering.mode === 'full' ? 'full mesh' : `${topology.peering.links.length} link(s)`})`);
  await peer(run);
  if (topology.peering.advertiseSubnets) {
    phase(run, 'route advertisements for each subnet');
    assertBulkOk(await createRouteAdvertisements(clients, { subnets }, common), 'advertise subnets');
  }
}

/** The full mesh in one macro; a declared map link by link, then peers outside it removed. */
async function peer(run: Run): Promise<void> {
  const { topology, clients, signal, onEvent, concurrency } = run;
  const { address, mtu, removeExtra } = topology.peering;
  if (topology.peering.mode === 'full') {
    if (clients.length > 1) assertBulkOk(await peerMesh(clients, { signal, onEvent, concurrency, address, mtu, removeExtra }), 'peer the mesh');
    return;
  }
  const clientOf = (name: string): Vns3Client => clients[topology.controllers.findIndex((c) => c.name === name)]!;
  // One link at a time: each touches two controllers, and links share controllers.
  for (const [a, b] of topology.peering.links) assertBulkOk(await peerMesh([clientOf(a), clientOf(b)], { signal, onEvent, address, mtu }), `peer ${a} with ${b}`);
  if (!removeExtra) return;
  await perController(run, 'peering.prune', () => true, async (c, client, s) => {
    const wanted = new Set(linkedNames(topology, c.name).map((n) => topology.controllers.find((x) => x.name === n)!.peerId));
    for (const [id, e] of peeringEntries(await client.get('/peering', { signal: s }))) {
      if (e.self === true || e.not_set === true || !e.address || wanted.has(id)) continue;
      await client.delete('/peering/peers/{peer_id}', { params: { path: { peer_id: id } }, signal: s });
      emit(onEvent, { controller: client.host, step: 'peering.peer', detail: `removed peer ${id} (not in the topology)`, data: { id } });
    }
  });
}

async function extraPhases(run: Run): Promise<void> {
  const { topology, signal, onEvent } = run;
  if (topology.controllers.some((c) => c.routes.length > 0)) phase(run, 'extra routes');
  await perController(run, 'topology.routes', (c) => c.routes.length > 0, (c, client, s) => ensureRouteTable(client, c.routes, { signal: s, onEvent }));
  if (topology.controllers.some((c) => c.firewall)) phase(run, 'firewall policies');
  await perController(run, 'topology.firewall', (c) => c.firewall !== undefined, (c, client, s) => ensureFirewallPolicy(client, c.firewall!, { signal: s, onEvent }));
  if (topology.controllers.some((c) => c.images.length + c.containers.length > 0)) phase(run, 'plugins: images, then containers');
  await perController(run, 'topology.plugins', (c) => c.images.length + c.containers.length > 0, async (c, client, s) => {
    for (const image of c.images) await ensureImage(client, image, { signal: s, onEvent });
    for (const { replace, ...container } of c.containers) await ensureContainer(client, container, { signal: s, onEvent, replace });
  });
  for (const pair of topology.ha) {
    phase(run, `HA plugin on ${pair.primary} (primary) and ${pair.secondary} (secondary)`);
    const observations = run.observations.map((o, i) => ({ ...o, client: run.clients[i]! }));
    await deployHaPlugin(haInput(topology, pair, observations), { signal, onEvent });
  }
}

/** Waits until every declared link is up: the macro for a full mesh, the status for a declared map. */
async function waitForLinks(run: Run, timeoutMs: number): Promise<void> {
  const { topology, clients, signal, onEvent, concurrency } = run;
  if (topology.peering.links.length === 0) return;
  phase(run, 'waiting until every link is up');
  if (topology.peering.mode === 'full') {
    await waitForMesh(clients, { signal, onEvent, concurrency, timeoutMs });
    return;
  }
  await pollUntil(
    {
      what: 'declared peering links',
      controller: '*',
      probe: async (s) => statusFromObservations(topology, await observeTopology(topology, clients, { concurrency, signal: s }), s),
      done: (st) => st.controllers.every((c) => c.links.every((l) => l.reachable)),
      describe: (st) => st.problems.slice(0, 3).join('; '),
    },
    { signal, onEvent, timeoutMs },
  );
}

/**
 * Brings the controllers to the topology: reads and plans (event `topology.plan`), asks `confirm`,
 * runs the macros phase by phase, waits for the links, then reads everything back. Resolves when
 * the mesh read back matches the file; throws Vns3TopologyPlanError before any write when the plan
 * has problems (an unreadable controller, input a macro refused), Vns3TopologyNotReachedError (with every problem) when
 * it does not, Vns3BulkError naming each controller a step failed on, Vns3ValidationError for bad
 * input before any write, Vns3MeshNotReadyError when links stay down, and the abort reason (or a
 * TimeoutError after `timeoutMs`).
 */
export async function applyTopology(topology: Topology, options: ApplyTopologyOptions = {}): Promise<ApplyTopologyResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_APPLY_TIMEOUT_MS;
  const deadline = new Deadline(timeoutMs, { signal: options.signal });
  const signal = deadline.signal;
  const clients = options.clients ?? connectTopology(topology);
  const { onEvent, concurrency } = options;
  try {
    const observations = await observeTopology(topology, clients, { concurrency, signal });
    const plan = await planFromObservations(topology, observations, signal);
    emit(onEvent, { controller: '*', step: 'topology.plan', detail: `${plan.summary.add} to add, ${plan.summary.change} to change, ${plan.summary.remove} to remove`, data: { summary: plan.summary } });
    options.onPlan?.(plan);
    const problems = plan.controllers.flatMap((c) => c.problems.map((p) => `${c.name}: ${p}`));
    if (problems.length > 0) throw new Vns3TopologyPlanError(problems);
    if (plan.changed && options.confirm && !(await options.confirm(plan))) {
      return { plan, applied: false, status: await statusFromObservations(topology, observations, signal), elapsedMs: performance.now() - started };
    }
    const run: Run = { topology, clients, signal, onEvent, concurrency, observations };
    if (plan.changed) {
      await meshPhases(run);
      await extraPhases(run);
      await applyBridges(topology, clients, { signal, onEvent });
    }
    // Ends a little before the deadline, so that the error names the links still down instead of a bare timeout.
    const left = deadline.remainingMs();
    await waitForLinks(run, Math.max(1, Math.min(5 * 60_000, left - Math.min(5_000, left / 10))));
    phase(run, 'reading the mesh back');
    const status = await statusFromObservations(topology, await observeTopology(topology, clients, { concurrency, signal }), signal);
    if (!status.ok) throw new Vns3TopologyNotReachedError(status.problems);
    return { plan, applied: true, status, elapsedMs: performance.now() - started };
  } finally {
    deadline.dispose();
    if (!options.clients) await Promise.all(clients.map((c) => c.close()));
  }
}
