/**
 * The IPsec bridges of a topology: planned with `ensureIpsecEndpoint`'s own dry run on each side
 * (the /30 chosen as `bridgeControllers` will choose it), applied with `bridgeControllers` one
 * bridge at a time after the mesh (bridges may share a controller, and each picks a /30 free on
 * both of its sides), and read back as each side's tunnel state. The pre-shared key is revealed
 * only to the macros: plans name the fields that differ, never their values.
 */
import type { Vns3Client } from '../client/index.js';
import { emit, type Vns3EventHandler } from '../events.js';
import { allocateVti, assertBulkOk, bridgeControllers, ensureIpsecEndpoint, type IpsecEndpointPlan } from '../macros/index.js';
import type { Observation } from './observe.js';
import type { Topology, TopologyBridge } from './types.js';

/** One side of a bridge as read back. */
export interface BridgeSideStatus {
  controller: string;
  /** The endpoint of the bridge's name exists on this controller. */
  endpoint: boolean;
  /** Every tunnel of the endpoint reports connected. */
  connected: boolean;
  /** The controller's words for a tunnel that is not connected (IKE state), or why it could not be read. */
  detail?: string;
}

/** A bridge of the file as read back; `connected` when both sides are. */
export interface BridgeStatus {
  name: string;
  a: BridgeSideStatus;
  b: BridgeSideStatus;
  connected: boolean;
}

/** The part of a controller's plan bridges add to (plan.ts's ControllerPlan, without importing it back). */
interface ControllerPlan {
  changes: Array<{ action: '+' | '~' | '-'; kind: string; summary: string }>;
  waits: Array<{ kind: string; summary: string }>;
  problems: string[];
}

const DEFAULT_POOL = '169.254.0.0/16';

function sidesOf(topology: Topology, bridge: TopologyBridge, observations: readonly Observation[]): [Observation, Observation] {
  const find = (name: string): Observation => observations[topology.controllers.findIndex((c) => c.name === name)]!;
  return [find(bridge.a), find(bridge.b)];
}

/** Plan lines of one side from the macro's dry-run plan. */
function sideChanges(name: string, remoteIp: string, vti: string, p: IpsecEndpointPlan): ControllerPlan['changes'] {
  const out: ControllerPlan['changes'] = [];
  const kind = 'ipsec';
  if (p.endpoint === 'create') out.push({ action: '+', kind, summary: `IPsec endpoint ${name} to ${remoteIp} (VTI ${vti}, route-based)` });
  else if (p.endpoint === 'update') out.push({ action: '~', kind, summary: `IPsec endpoint ${name}: ${p.changed.join(', ')} differ` });
  else if (p.endpoint === 'replace') out.push({ action: '~', kind, summary: `IPsec endpoint ${name} replaced (${p.changed.join(', ')} differ)` });
  for (const t of [...p.tunnels.create, ...p.trafficPairs.create]) out.push({ action: '+', kind, summary: `IPsec ${name} pair ${t.localSubnet} <-> ${t.remoteSubnet}` });
  for (const t of [...p.tunnels.update, ...p.trafficPairs.update]) out.push({ action: '~', kind, summary: `IPsec ${name} pair ${t.id} → ${t.localSubnet} <-> ${t.remoteSubnet}` });
  for (const id of [...p.tunnels.remove, ...p.trafficPairs.remove]) out.push({ action: '-', kind, summary: `IPsec ${name} pair ${id}` });
  for (const cidr of p.routes.create) out.push({ action: '+', kind, summary: `route ${cidr} into IPsec ${name}` });
  for (const r of p.routes.remove) out.push({ action: '-', kind, summary: `route ${r.cidr} into IPsec ${name}` });
  return out;
}

/** What the bridge would be before the controllers can be asked (a side not licensed yet): both ends created. */
function projected(bridge: TopologyBridge, plans: [ControllerPlan, ControllerPlan], other: [string, string]): void {
  (['a', 'b'] as const).forEach((side, i) => {
    const remote = bridge.networks[side === 'a' ? 'b' : 'a'];
    plans[i]!.changes.push({ action: '+', kind: 'ipsec', summary: `IPsec endpoint ${bridge.name} to ${other[i]} (route-based)` });
    for (const cidr of remote) plans[i]!.changes.push({ action: '+', kind: 'ipsec', summary: `route ${cidr} into IPsec ${bridge.name}` });
  });
}

async function planBridge(topology: Topology, bridge: TopologyBridge, observations: readonly Observation[], plans: ControllerPlan[], signal?: AbortSignal): Promise<void> {
  const [oa, ob] = sidesOf(topology, bridge, observations);
  const index = (name: string): number => topology.controllers.findIndex((c) => c.name === name);
  const pair: [ControllerPlan, ControllerPlan] = [plans[index(bridge.a)]!, plans[index(bridge.b)]!];
  if (oa.error || ob.error) return;
  const before = pair.map((p) => p.changes.length);
  if (!oa.state?.licensed || !ob.state?.licensed) {
    projected(bridge, pair, [bridge.b, bridge.a]);
  } else {
    const publicIp = { a: oa.state.publicIp, b: ob.state.publicIp };
    for (const [i, side] of (['a', 'b'] as const).entries()) {
      if (!publicIp[side]) pair[i]!.problems.push(`IPsec ${bridge.name}: the controller reports no public IPv4 address for the other side to dial`);
    }
    if (!publicIp.a || !publicIp.b) return;
    const [ia, ib] = await Promise.all([oa.client.get('/ipsec', { signal }), ob.client.get('/ipsec', { signal })]);
    // The controller keeps one endpoint per remote address: another name there (a renamed bridge) would be refused.
    for (const [i, [endpoints, remote]] of ([[ia, publicIp.b], [ib, publicIp.a]] as const).entries()) {
      const taken = Object.values(endpoints.remote_endpoints).find((e) => e.ipaddress === remote && e.name !== bridge.name);
      if (taken) pair[i]!.problems.push(`IPsec ${bridge.name}: endpoint ${taken.name} already points at ${remote} (one endpoint per remote address); rename the bridge back or delete that endpoint`);
    }
    if (pair.some((p) => p.problems.length > 0)) return;
    const vti = allocateVti(bridge.vtiPool ?? DEFAULT_POOL, bridge.name, Object.values(ia.remote_endpoints), Object.values(ib.remote_endpoints));
    await Promise.all(
      ([[oa, 'a', 'b'], [ob, 'b', 'a']] as const).map(async ([o, side, other], i) => {
        const spec = { name: bridge.name, remoteIp: publicIp[other]!, psk: bridge.psk.reveal(), ikeVersion: bridge.ikeVersion, vtiAddress: vti[side], remoteNetworks: bridge.networks[other], advertiseRemoteNetworks: bridge.advertise, description: `IPsec bridge ${bridge.name}` };
        try {
          const r = await ensureIpsecEndpoint(o.client, spec, { dryRun: true, signal });
          pair[i]!.changes.push(...sideChanges(bridge.name, publicIp[other]!, vti[side], r.plan));
        } catch (error) {
          pair[i]!.problems.push(`IPsec ${bridge.name}: ${(error as Error).message}`);
        }
      }),
    );
  }
  for (const [i, other] of [bridge.b, bridge.a].entries()) {
    if (pair[i]!.changes.length > before[i]!) {
      pair[i]!.waits.push({ kind: 'ipsec-tunnel', summary: `IPsec ${bridge.name} tunnel to ${other} connected` });
    }
  }
}

/** Adds each bridge's changes and its "tunnel connected" wait to the plans of its two sides. */
export async function planBridges(topology: Topology, observations: readonly Observation[], plans: ControllerPlan[], signal?: AbortSignal): Promise<void> {
  for (const bridge of topology.bridges) {
    try {
      await planBridge(topology, bridge, observations, plans, signal);
    } catch (error) {
      plans[topology.controllers.findIndex((c) => c.name === bridge.a)]!.problems.push(`IPsec ${bridge.name}: ${(error as Error).message}`);
    }
  }
}

/**
 * Builds every bridge with `bridgeControllers`, one after the other; throws Vns3BulkError naming
 * the side that failed (a refused write, a tunnel that did not connect, with the controller's reason).
 */
export async function applyBridges(topology: Topology, clients: readonly Vns3Client[], options: { signal: AbortSignal; onEvent?: Vns3EventHandler; timeoutMs?: number }): Promise<void> {
  const clientOf = (name: string): Vns3Client => clients[topology.controllers.findIndex((c) => c.name === name)]!;
  for (const bridge of topology.bridges) {
    emit(options.onEvent, { controller: '*', step: 'topology.phase', detail: `IPsec bridge ${bridge.name}: ${bridge.a} <-> ${bridge.b}` });
    const result = await bridgeControllers(
      {
        a: { client: clientOf(bridge.a), networks: bridge.networks.a },
        b: { client: clientOf(bridge.b), networks: bridge.networks.b },
        psk: bridge.psk.reveal(),
        name: bridge.name,
        ikeVersion: bridge.ikeVersion,
        vtiPool: bridge.vtiPool,
        advertise: bridge.advertise,
      },
      { signal: options.signal, onEvent: options.onEvent, timeoutMs: options.timeoutMs },
    );
    assertBulkOk(result, `IPsec bridge ${bridge.name}`);
  }
}

async function sideStatus(o: Observation, name: string, signal?: AbortSignal): Promise<BridgeSideStatus> {
  const controller = o.controller.name;
  if (o.error || !o.state?.licensed) return { controller, endpoint: false, connected: false, detail: o.error ? 'not reachable' : 'not licensed' };
  try {
    const [ipsec, status] = await Promise.all([o.client.get('/ipsec', { signal }), o.client.get('/status/ipsec', { signal })]);
    const endpoint = Object.values(ipsec.remote_endpoints).some((e) => e.name === name);
    const tunnels = Object.values(status).filter((t) => t.endpoint_name === name);
    const connected = endpoint && tunnels.length > 0 && tunnels.every((t) => t.connected);
    const down = tunnels.filter((t) => !t.connected).map((t) => t.tunnel_params?.phase1 || 'no IKE state');
    return { controller, endpoint, connected, detail: connected ? undefined : !endpoint ? 'no endpoint' : tunnels.length === 0 ? 'no tunnel' : down.join('; ') };
  } catch (error) {
    return { controller, endpoint: false, connected: false, detail: `cannot be read: ${(error as Error).message}` };
  }
}

/** Each bridge's tunnel state on both sides. */
export async function bridgeStatuses(topology: Topology, observations: readonly Observation[], signal?: AbortSignal): Promise<BridgeStatus[]> {
  return Promise.all(
    topology.bridges.map(async (bridge) => {
      const [oa, ob] = sidesOf(topology, bridge, observations);
      const [a, b] = await Promise.all([sideStatus(oa, bridge.name, signal), sideStatus(ob, bridge.name, signal)]);
      return { name: bridge.name, a, b, connected: a.connected && b.connected };
    }),
  );
}

/** The problems a bridge's status shows, in words. */
export function bridgeProblems(list: readonly BridgeStatus[]): string[] {
  return list.flatMap((b) => [b.a, b.b].filter((s) => !s.connected).map((s) => `IPsec ${b.name} on ${s.controller}: not connected (${s.detail ?? 'unknown'})`));
}
