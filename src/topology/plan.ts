/**
 * `planTopology`: what `applyTopology` would do, controller by controller, as Terraform shows a
 * plan: `+` create, `~` change, `-` remove, and the waits that come with them (the reboot after the
 * license is accepted, the keyset generation and fetches, image imports, the mesh coming up). Where
 * a macro can say what it would write (`dryRun` of routes, firewall, images, containers, the HA
 * plugin), its own plan is shown; the rest (license, keyset, peer ids, peers, advertisements) is
 * compared here from one read of each controller.
 */
import { Vns3ValidationError, type Vns3Client } from '../client/index.js';
import { deployHaPlugin, ensureContainer, ensureFirewallPolicy, ensureImage, ensureRouteTable, type RouteSpec } from '../macros/index.js';
import { hostCidr, normalizeCidr, subnetGateway } from '../net/index.js';
import { planBridges } from './bridges.js';
import { connectTopology, observeTopology, peerAddress, type Observation } from './observe.js';
import type { Topology, TopologyController } from './types.js';

/** `+` create, `~` change, `-` remove. */
export type PlanAction = '+' | '~' | '-';

/** One change the apply would make on a controller. */
export interface PlannedChange {
  action: PlanAction;
  /** What kind of thing: `license`, `keyset`, `peer-id`, `route`, `peer`, `advertisement`, `firewall`, `image`, `container`, `ha`, `ipsec`, `names`. */
  kind: string;
  /** One line for people, e.g. `route 10.0.2.10/32 via 10.0.1.1 (eth0)`. Never a secret. */
  summary: string;
}

/** A wait the apply will go through: a reboot, a background job on the controller, the mesh coming up. */
export interface PlannedWait {
  kind: 'reboot' | 'keyset-generation' | 'keyset-fetch' | 'image-import' | 'mesh' | 'ipsec-tunnel';
  summary: string;
}

/** The plan of one controller. */
export interface ControllerPlan {
  name: string;
  host: string;
  root: boolean;
  changes: PlannedChange[];
  waits: PlannedWait[];
  /** Why this controller could not be planned (unreachable, refused), or a change the apply cannot make. */
  problems: string[];
}

/** The whole plan: per controller, the mesh-wide waits, and the counts Terraform's summary line shows. */
export interface TopologyPlan {
  controllers: ControllerPlan[];
  waits: PlannedWait[];
  summary: { add: number; change: number; remove: number; waits: number; problems: number };
  /** True when there is anything to do. */
  changed: boolean;
}

/** How `planTopology` reads. */
export interface PlanTopologyOptions {
  /** Controllers read at the same time; default 16. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Clients to use (one per controller, in order); default new ones, closed at the end. */
  clients?: readonly Vns3Client[];
}

/** The /32 routes to every other controller through this one's subnet gateway, as `createPeerMeshLocalGatewayRoutes` makes them. */
export function peerRouteSpecs(topology: Topology, index: number, observations: readonly Observation[]): RouteSpec[] {
  if (!topology.peering.peerRoutes) return [];
  const own = observations[index]?.state?.privateIp;
  const gateway = subnetGateway(topology.controllers[index]!.subnet);
  const out: RouteSpec[] = [];
  observations.forEach((o, j) => {
    const ip = o.state?.privateIp;
    if (j === index || !ip || ip === own) return;
    out.push({ cidr: hostCidr(ip), interface: 'eth0', gateway, advertise: false, description: 'Peer route to local gateway' });
  });
  return out;
}

/** Names of the controllers `name` peers with. */
export function linkedNames(topology: Topology, name: string): string[] {
  return topology.peering.links.flatMap(([a, b]) => (a === name ? [b] : b === name ? [a] : []));
}

/**
 * Runs a macro's dry run. Bad input (Vns3ValidationError) is a problem of the plan whatever the
 * controller's state, so that apply stops before its first write; any other failure on a controller
 * not yet licensed only means it cannot show that area yet: `projected` adds what would be created.
 */
async function dryRun<T>(o: Observation, plan: ControllerPlan, what: string, run: () => Promise<T>, projected: () => void): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof Vns3ValidationError || o.state?.licensed) plan.problems.push(`${what}: ${(error as Error).message}`);
    else projected();
    return undefined;
  }
}

const routeLine = (r: RouteSpec): string =>
  `route ${r.cidr}${r.gateway && r.gateway !== '_notset' ? ` via ${r.gateway}` : ''}${r.interface && r.interface !== '_notset' ? ` (${r.interface})` : ''}${r.advertise ? ' advertised' : ''}`;

function planLicenseAndKeyset(topology: Topology, o: Observation, rootObs: Observation | undefined, plan: ControllerPlan): void {
  const s = o.state!;
  if (plan.root) {
    if (topology.name !== undefined && s.topologyName !== topology.name) {
      plan.changes.push({ action: '~', kind: 'names', summary: `topology name ${JSON.stringify(s.topologyName)} → ${JSON.stringify(topology.name)}` });
    }
    if (!s.licensed) {
      if (!o.licensePresent) plan.changes.push({ action: '+', kind: 'license', summary: 'license upload' });
      const params = topology.license.parameters;
      plan.changes.push({ action: '~', kind: 'license', summary: `license acceptance (${params.default === true ? 'default parameters' : 'explicit parameters'})` });
      plan.waits.push({ kind: 'reboot', summary: 'the controller reboots after the license is accepted' });
    }
    if (!o.keysetPresent) {
      plan.changes.push({ action: '+', kind: 'keyset', summary: 'keyset generation' });
      plan.waits.push({ kind: 'keyset-generation', summary: 'keyset generation runs in the background' });
    }
    return;
  }
  if (!o.keysetPresent) {
    plan.changes.push({ action: '+', kind: 'keyset', summary: `keyset fetch from ${topology.root}${rootObs?.state ? ` (${rootObs.state.privateIp})` : ''}` });
    plan.waits.push({ kind: 'keyset-fetch', summary: 'keyset fetch runs in the background, then the controller reboots' });
  } else if (rootObs?.keysetChecksum && o.keysetChecksum && o.keysetChecksum !== rootObs.keysetChecksum) {
    plan.problems.push(`has another keyset than ${topology.root} (checksum ${o.keysetChecksum} vs ${rootObs.keysetChecksum}): it cannot be changed in place; reset the controller's keyset`);
  }
}

function planPeers(topology: Topology, observations: readonly Observation[], index: number, plan: ControllerPlan): void {
  const me = topology.controllers[index]!;
  const o = observations[index]!;
  const licensed = o.state?.licensed === true;
  if (o.state?.peerId !== me.peerId) {
    const was = o.state?.peerId;
    plan.changes.push(was === undefined ? { action: '+', kind: 'peer-id', summary: `peer id ${me.peerId}` } : { action: '~', kind: 'peer-id', summary: `peer id ${was} → ${me.peerId}` });
    if (o.state?.peerId !== undefined) plan.problems.push(`peer id is ${o.state.peerId}, the file says ${me.peerId}: the controller refuses to change a set id; reset its peering first`);
  }
  const wanted = new Map<number, string>();
  for (const name of linkedNames(topology, me.name)) {
    const j = topology.controllers.findIndex((c) => c.name === name);
    const address = peerAddress(observations[j]!, topology.peering.address);
    if (!address) {
      plan.problems.push(`no ${topology.peering.address} address known for ${name}: it could not be read`);
      continue;
    }
    wanted.set(topology.controllers[j]!.peerId, address);
  }
  const have = licensed ? (o.peers ?? new Map()) : new Map<number, { address: string; mtu?: string }>();
  const mtu = topology.peering.mtu;
  for (const [id, address] of wanted) {
    const cur = have.get(id);
    if (!cur) plan.changes.push({ action: '+', kind: 'peer', summary: `peer ${id} at ${address}` });
    else if (cur.address.toLowerCase() !== address.toLowerCase()) plan.changes.push({ action: '~', kind: 'peer', summary: `peer ${id} address ${cur.address} → ${address}` });
    else if (mtu !== undefined && cur.mtu !== String(mtu)) plan.changes.push({ action: '~', kind: 'peer', summary: `peer ${id} mtu ${cur.mtu ?? '(default)'} → ${mtu}` });
  }
  if (topology.peering.removeExtra) {
    for (const [id, cur] of have) if (!wanted.has(id)) plan.changes.push({ action: '-', kind: 'peer', summary: `peer ${id} at ${cur.address}` });
  }
}

/** Routes (peer routes + extra routes) from ensureRouteTable's own dry run, and the subnet advertisement. */
async function planRoutes(topology: Topology, observations: readonly Observation[], index: number, plan: ControllerPlan, signal?: AbortSignal): Promise<void> {
  const me = topology.controllers[index]!;
  const o = observations[index]!;
  const desired = [...peerRouteSpecs(topology, index, observations), ...me.routes];
  const advertise = topology.peering.advertiseSubnets ? normalizeCidr(me.subnet) : undefined;
  if (desired.length > 0) {
    const projected = (): void => desired.forEach((r) => plan.changes.push({ action: '+', kind: 'route', summary: routeLine(r) }));
    const routes = await dryRun(o, plan, 'routes', () => ensureRouteTable(o.client, desired, { dryRun: true, signal }), projected);
    for (const r of routes?.removed ?? []) plan.changes.push({ action: '-', kind: 'route', summary: `${routeLine(r)} (replaced)` });
    for (const r of routes?.created ?? []) plan.changes.push({ action: '+', kind: 'route', summary: routeLine(r) });
  }
  if (!o.state?.licensed) {
    if (advertise) plan.changes.push({ action: '+', kind: 'advertisement', summary: `advertise ${advertise}` });
    return;
  }
  // createRouteAdvertisements knows an advertisement by what is advertised (a controller may fill in an interface).
  if (advertise && !o.routes?.some((r) => r.editable && r.advertise && r.table === 'main' && normalizeCidr(r.cidr) === advertise)) {
    plan.changes.push({ action: '+', kind: 'advertisement', summary: `advertise ${advertise}` });
  }
}

async function planFirewallAndPlugins(me: TopologyController, o: Observation, plan: ControllerPlan, signal?: AbortSignal): Promise<void> {
  if (me.firewall) {
    const rules = me.firewall;
    const projected = (): void => void plan.changes.push({ action: '~', kind: 'firewall', summary: `firewall policy of ${rules.length} rule(s)` });
    const fw = await dryRun(o, plan, 'firewall', () => ensureFirewallPolicy(o.client, rules, { dryRun: true, signal }), projected);
    for (const d of fw?.deletes ?? []) plan.changes.push({ action: '-', kind: 'firewall', summary: `firewall rule ${d.position}: ${d.rule}` });
    for (const i of fw?.inserts ?? []) plan.changes.push({ action: '+', kind: 'firewall', summary: `firewall rule ${i.position}: ${i.rule}` });
  }
  for (const image of me.images) {
    let action: string | undefined;
    const r = await dryRun(o, plan, `image ${image.name}`, () => ensureImage(o.client, image, { dryRun: true, signal }), () => (action = 'import'));
    action = r?.action ?? action;
    if (action === undefined || action === 'none') continue;
    plan.changes.push({ action: action === 'import' ? '+' : '~', kind: 'image', summary: `image ${image.name}${action === 'reimport' ? ' (import again: the last one failed)' : ''}` });
    plan.waits.push({ kind: 'image-import', summary: `image ${image.name} is imported in the background` });
  }
  for (const { replace, ...container } of me.containers) {
    const projected = (): void => void plan.changes.push({ action: '+', kind: 'container', summary: `container ${container.name} from ${container.image}` });
    // replace: true in the dry run, so that a differing container is shown (and refused below) rather than thrown.
    const r = await dryRun(o, plan, `container ${container.name}`, () => ensureContainer(o.client, container, { dryRun: true, replace: true, signal }), projected);
    if (!r || r.action === 'none') continue;
    const why = r.differences.length > 0 ? ` (differs: ${r.differences.join(', ')})` : '';
    plan.changes.push({ action: r.action === 'start' ? '+' : '~', kind: 'container', summary: `container ${container.name} ${r.action}${why}` });
    if (r.action === 'replace' && !replace) plan.problems.push(`container ${container.name} differs (${r.differences.join(', ')}); set replace: true to replace it`);
  }
}

async function planHa(topology: Topology, observations: readonly Observation[], plans: ControllerPlan[], signal?: AbortSignal): Promise<void> {
  const byName = (name: string): number => topology.controllers.findIndex((c) => c.name === name);
  for (const pair of topology.ha) {
    const [p, s] = [byName(pair.primary), byName(pair.secondary)];
    const [po, so] = [observations[p]!, observations[s]!];
    const licensed = po.state?.licensed === true && so.state?.licensed === true;
    const projected = (): void => {
      plans[p]!.changes.push({ action: '+', kind: 'ha', summary: `HA plugin (primary of ${pair.secondary})` });
      plans[s]!.changes.push({ action: '+', kind: 'ha', summary: `HA plugin (secondary of ${pair.primary})` });
    };
    if (po.error || so.error) continue;
    // The plugin's routes and rules rest on the mesh as it will be: before licensing, only its input is checked.
    const r = await dryRun(licensed ? po : { ...po, state: undefined }, plans[p]!, `HA pair with ${pair.secondary}`, () => deployHaPlugin({ ...haInput(topology, pair, observations), dryRun: true }, { signal }), projected);
    if (!r) continue;
    if (!licensed) {
      projected();
      continue;
    }
    for (const [i, d] of [[p, r.primary], [s, r.secondary]] as const) {
      for (const route of d.routesToAdd) plans[i]!.changes.push({ action: '+', kind: 'ha', summary: `HA ${routeLine(route)}` });
      for (const rule of d.rulesToAdd) plans[i]!.changes.push({ action: '+', kind: 'ha', summary: `HA firewall rule: ${rule}` });
      if (d.image !== 'none' && d.image !== 'skip') plans[i]!.changes.push({ action: '+', kind: 'ha', summary: `HA plugin image (${d.image})` });
      if (d.container !== 'none' && d.container !== 'skip') plans[i]!.changes.push({ action: d.container === 'start' ? '+' : '~', kind: 'ha', summary: `HA plugin container (${d.container}, ${d.role})` });
    }
  }
}

/** `deployHaPlugin`'s input for a pair of the topology. */
export function haInput(topology: Topology, pair: Topology['ha'][number], observations: readonly Observation[]): Parameters<typeof deployHaPlugin>[0] {
  const find = (name: string): Observation => observations[topology.controllers.findIndex((c) => c.name === name)]!;
  const [p, s] = [find(pair.primary), find(pair.secondary)];
  return {
    primary: p.client,
    secondary: s.client,
    cloud: pair.cloud,
    image: pair.image,
    mesh: observations.map((o) => o.client),
    vpcCidr: pair.vpcCidr,
    primaryApiPassword: p.controller.connection.password?.reveal() ?? '',
    secondaryApiPassword: s.controller.connection.password?.reveal() ?? '',
    sleepTime: pair.sleepTime,
    logLevel: pair.logLevel,
    containerName: pair.containerName,
    pluginIp: pair.pluginIp,
    extraEnv: pair.extraEnv,
    replace: pair.replace,
  };
}

/** The plan from observations already made (apply plans this way, from the same read). */
export async function planFromObservations(topology: Topology, observations: readonly Observation[], signal?: AbortSignal): Promise<TopologyPlan> {
  const rootObs = observations.find((o) => o.controller.name === topology.root);
  const plans: ControllerPlan[] = observations.map((o) => ({ name: o.controller.name, host: o.controller.host, root: o.controller.name === topology.root, changes: [], waits: [], problems: [] }));
  await Promise.all(
    observations.map(async (o, i) => {
      const plan = plans[i]!;
      if (o.error) return void plan.problems.push(`cannot be read: ${o.error.message}`);
      try {
        planLicenseAndKeyset(topology, o, rootObs, plan);
        planPeers(topology, observations, i, plan);
        await planRoutes(topology, observations, i, plan, signal);
        await planFirewallAndPlugins(o.controller, o, plan, signal);
      } catch (error) {
        plan.problems.push((error as Error).message);
      }
    }),
  );
  await planHa(topology, observations, plans, signal);
  await planBridges(topology, observations, plans, signal);
  const all = plans.flatMap((p) => p.changes);
  const count = (a: PlanAction): number => all.filter((c) => c.action === a).length;
  const meshTouched = all.some((c) => ['keyset', 'peer', 'peer-id', 'route', 'advertisement'].includes(c.kind));
  const waits: PlannedWait[] = meshTouched ? [{ kind: 'mesh', summary: `${topology.peering.links.length * 2} peering link(s) come up (both directions)` }] : [];
  const summary = {
    add: count('+'),
    change: count('~'),
    remove: count('-'),
    waits: waits.length + plans.reduce((n, p) => n + p.waits.length, 0),
    problems: plans.reduce((n, p) => n + p.problems.length, 0),
  };
  return { controllers: plans, waits, summary, changed: all.length > 0 };
}

/**
 * Reads every controller of the topology and says what `applyTopology` would change, without
 * writing anything. A controller that cannot be read, or a change the apply cannot make, is listed
 * in its `problems` (the plan of the others still stands). Throws Vns3ValidationError for a bad
 * connection setting before any request, and the caller's abort reason.
 */
export async function planTopology(topology: Topology, options: PlanTopologyOptions = {}): Promise<TopologyPlan> {
  const clients = options.clients ?? connectTopology(topology);
  try {
    const observations = await observeTopology(topology, clients, options);
    return await planFromObservations(topology, observations, options.signal);
  } finally {
    if (!options.clients) await Promise.all(clients.map((c) => c.close()));
  }
}
