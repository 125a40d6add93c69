import { randomBytes, randomUUID } from 'node:crypto';
import type { ContainerEntry, ImageEntry, SimController } from '../controller.js';
import { badRequest, notFound } from '../errors.js';
import type { OperationTable } from './types.js';

/** Applies a finished start/stop of the container system; `starting`/`stopping` until then. */
function containerSystemView(ctl: SimController): { running: boolean | 'starting' | 'stopping'; network: string } {
  const cs = ctl.containerSystem;
  if (cs.transition && Date.now() >= cs.transition.until) {
    cs.running = cs.transition.to;
    cs.transition = undefined;
  }
  const running = cs.transition ? (cs.transition.to ? 'starting' : 'stopping') : cs.running;
  return { running, network: cs.network };
}

/**
 * A boolean query parameter as controllers read it: `true`/`false` in any case (clients send
 * `show_all=True`), `1`/`0`; absent or anything else is the default.
 */
export function queryFlag(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const value = query.get(name)?.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return fallback;
}

function requireRunning(ctl: SimController): void {
  if (containerSystemView(ctl).running !== true) throw badRequest('Container system is not running.');
}

function networkHosts(cidr: string): string[] {
  const [net, prefixText] = cidr.split('/');
  const base = (net ?? '').split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(prefixText));
  const hosts: string[] = [];
  // .0 is the network, .1 the controller's side of the plugin bridge, the last the broadcast.
  for (let i = 2; i < size - 1 && hosts.length < 1024; i++) {
    const n = base + i;
    hosts.push([24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.'));
  }
  return hosts;
}

function imageStatus(image: ImageEntry): { status: string; status_msg?: string } {
  if (Date.now() < image.readyAt) return { status: 'Importing' };
  if (image.failure) return { status: 'Failed', status_msg: image.failure };
  return { status: 'Ready' };
}

function imageView(image: ImageEntry): Record<string, unknown> {
  return {
    id: image.id,
    image_name: image.name,
    import_id: image.id,
    created: image.createdAt,
    description: image.description,
    tag_name: `${image.name}:latest`,
    ...imageStatus(image),
  };
}

/** `environment` is one string: `KEY=value` lines separated by newlines (our documented encoding). */
export function parseEnvironment(environment: string): string[] {
  return environment.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

function containerView(c: ContainerEntry, ctl: SimController): Record<string, unknown> {
  const image = ctl.images.get(c.imageId);
  return {
    Id: c.id,
    Name: `/${c.name}`,
    Created: c.createdAt,
    Image: c.imageId,
    Path: c.command.split(' ')[0] ?? '',
    Args: c.command.split(' ').slice(1),
    RestartCount: 0,
    description: c.description,
    Config: { Image: image?.name ?? c.imageId, Cmd: c.command, Env: parseEnvironment(c.environment), Hostname: c.name },
    State: {
      Status: c.running ? 'running' : 'exited',
      Running: c.running,
      Paused: false,
      Restarting: false,
      ExitCode: c.running ? 0 : 137,
      StartedAt: c.startedAt,
      FinishedAt: c.finishedAt ?? '0001-01-01T00:00:00Z',
    },
    NetworkSettings: { IPAddress: c.ipAddress, Gateway: networkHosts(ctl.containerSystem.network)[0] ? gatewayOf(ctl.containerSystem.network) : '', IPPrefixLen: Number(ctl.containerSystem.network.split('/')[1]) },
  };
}

function gatewayOf(cidr: string): string {
  const [net] = cidr.split('/');
  const o = (net ?? '').split('.').map(Number);
  return `${o[0]}.${o[1]}.${o[2]}.${(o[3] ?? 0) + 1}`;
}

/**
 * An unknown container is a 404 where the reference lists no status for it (PUT/DELETE …/{uuid},
 * logs: our choice, noted in spec/vns3.yaml) and a 400 where it lists 400 (POST a restart).
 */
function findContainer(ctl: SimController, uuid: string | undefined, status: 400 | 404 = 404): ContainerEntry {
  const c = uuid ? ctl.containers.get(uuid) : undefined;
  if (!c) throw status === 400 ? badRequest(`Container ${uuid} not found.`) : notFound(`Container ${uuid} not found.`);
  return c;
}

function startContainer(ctl: SimController, c: ContainerEntry): void {
  c.running = true;
  c.startedAt = new Date().toISOString();
  c.finishedAt = undefined;
  // Logs show the names of the variables, never their values (they often hold passwords).
  const names = parseEnvironment(c.environment).map((l) => l.split('=')[0]);
  c.logs.push(`${c.startedAt} starting container ${c.name}`, `${c.startedAt} command: ${c.command || '(image default)'}`, `${c.startedAt} environment: ${names.join(', ') || '(none)'}`);
}

export const containerOperations: OperationTable = {
  'GET /container_system': ({ ctl }) => containerSystemView(ctl),

  'POST /container_system': ({ ctl, body }) => {
    const { action } = body as { action: 'start' | 'stop' };
    const view = containerSystemView(ctl);
    const to = action === 'start';
    if (view.running !== to && typeof view.running === 'boolean') {
      ctl.containerSystem.transition = { to, until: Date.now() + ctl.world.timings.containerSystemTransitionMs };
      if (!to) for (const c of ctl.containers.values()) c.running = false;
    }
    return containerSystemView(ctl);
  },

  'PUT /container_system': ({ ctl, body }) => {
    const { network } = body as { network: string };
    const [, prefix] = network.split('/');
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(network) || Number(prefix) > 30 || Number(prefix) < 16) {
      throw badRequest(`Invalid network: ${network}`);
    }
    if ([...ctl.containers.values()].some((c) => c.running)) throw badRequest('Stop all containers before changing the container network.');
    ctl.containerSystem.network = network;
    return containerSystemView(ctl);
  },

  'GET /container_system/ip_addresses': ({ ctl }) => {
    const used = new Set([...ctl.containers.values()].map((c) => c.ipAddress));
    return { addresses: networkHosts(ctl.containerSystem.network).map((address) => ({ address, status: used.has(address) ? 'used' : 'available' })) };
  },

  'GET /container_system/images': ({ ctl, query }) => {
    const uuid = query.get('uuid');
    const images = [...ctl.images.values()].filter((i) => !uuid || i.id === uuid);
    return { images: images.map(imageView) };
  },

  'POST /container_system/images': ({ ctl, body }) => {
    const b = body as { name?: string; url?: string; buildurl?: string; localbuild?: string; localimage?: string; imagefile?: string; buildfile?: string; description?: string };
    const name = b.name?.trim();
    if (!name) throw badRequest('Image name is required.');
    const source = b.url ?? b.buildurl ?? b.localbuild ?? b.localimage ?? b.imagefile ?? b.buildfile;
    if (!source) throw badRequest('One of url, buildurl, localbuild, localimage, imagefile or buildfile is required.');
    if ([...ctl.images.values()].some((i) => i.name === name)) throw badRequest(`Image name ${name} already exists.`);
    let failure: string | undefined;
    const remote = b.url ?? b.buildurl;
    if (remote !== undefined) {
      let host = '';
      try {
        host = new URL(remote).hostname;
      } catch {
        throw badRequest(`Invalid url: ${remote}`);
      }
      if (host.endsWith('.invalid')) failure = `Failed to download ${remote}: could not resolve host ${host}`;
    }
    for (const [match, message] of ctl.importFailures) if (source.includes(match) || name.includes(match)) failure = message;
    const id = randomBytes(6).toString('hex');
    ctl.images.set(id, { id, name, description: b.description ?? '', source, createdAt: new Date().toISOString(), readyAt: Date.now() + ctl.world.timings.imageImportMs, failure });
    return { import_uuid: id, status: 'Image being uploaded' };
  },

  'PUT /container_system/images/{uuid}': ({ ctl, params, body }) => {
    const image = ctl.images.get(params.uuid ?? '');
    // 400: the reference lists 400 (and no 404) for this operation.
    if (!image) throw badRequest(`Image ${params.uuid} not found.`);
    const b = body as { name: string; description?: string };
    image.name = b.name;
    if (b.description !== undefined) image.description = b.description;
    return { uuid: image.id, status: imageStatus(image).status };
  },

  'DELETE /container_system/images/{uuid}': ({ ctl, params, query }) => {
    const image = ctl.images.get(params.uuid ?? '');
    if (!image) throw notFound(`Image ${params.uuid} not found.`);
    const users = [...ctl.containers.values()].filter((c) => c.imageId === image.id);
    if (users.length > 0 && !queryFlag(query, 'force', false)) throw badRequest(`Image ${image.name} is used by ${users.length} container(s).`);
    for (const c of users) ctl.containers.delete(c.id);
    ctl.images.delete(image.id);
    return { uuid: image.id, image_deleted: true };
  },

  'GET /container_system/containers': ({ ctl, query }) => {
    // The reference's default is true: every container, running or not, unless show_all=false.
    const all = queryFlag(query, 'show_all', true);
    const uuid = query.get('uuid');
    const list = [...ctl.containers.values()].filter((c) => (all || c.running) && (!uuid || c.id === uuid));
    return { containers: list.map((c) => containerView(c, ctl)) };
  },

  'POST /container_system/containers': ({ ctl, body }) => {
    requireRunning(ctl);
    const b = body as { uuid?: string; image_uuid?: string; name?: string; command?: string; environment?: string; ipaddress?: string; description?: string };
    if (b.uuid) {
      const existing = findContainer(ctl, b.uuid, 400);
      if (existing.running) throw badRequest(`Container ${existing.name} is already running.`);
      startContainer(ctl, existing);
      return { uuid: existing.id, container_started: true, ip_address: existing.ipAddress, status: 'Running' };
    }
    const image = b.image_uuid ? ctl.images.get(b.image_uuid) : undefined;
    if (!image) throw badRequest(`Image ${b.image_uuid ?? '(none)'} not found.`);
    if (imageStatus(image).status !== 'Ready') throw badRequest(`Image ${image.name} is not ready.`);
    const name = b.name?.trim();
    if (!name) throw badRequest('Container name is required.');
    if ([...ctl.containers.values()].some((c) => c.name === name)) throw badRequest(`Container name ${name} already in use.`);
    const hosts = networkHosts(ctl.containerSystem.network);
    const used = new Set([...ctl.containers.values()].map((c) => c.ipAddress));
    let ip = b.ipaddress;
    if (ip !== undefined && ip !== '') {
      if (!hosts.includes(ip)) throw badRequest(`IP address ${ip} is not in the container network ${ctl.containerSystem.network}.`);
      if (used.has(ip)) throw badRequest(`IP address ${ip} already in use.`);
    } else {
      ip = hosts.find((h) => !used.has(h));
      if (!ip) throw badRequest('No free IP address in the container network.');
    }
    const container: ContainerEntry = {
      id: randomUUID().replace(/-/g, '').slice(0, 12),
      name,
      imageId: image.id,
      command: b.command ?? '',
      environment: b.environment ?? '',
      ipAddress: ip,
      description: b.description ?? '',
      running: false,
      createdAt: new Date().toISOString(),
      startedAt: '',
      logs: [],
    };
    ctl.containers.set(container.id, container);
    startContainer(ctl, container);
    return { uuid: container.id, container_started: true, ip_address: ip, status: 'Running' };
  },

  'PUT /container_system/containers/{uuid}': ({ ctl, params }) => {
    const c = findContainer(ctl, params.uuid);
    if (c.running) {
      c.running = false;
      c.finishedAt = new Date().toISOString();
      c.logs.push(`${c.finishedAt} stopped container ${c.name}`);
    }
    return { uuid: c.id, status: 'Stopped' };
  },

  'DELETE /container_system/containers/{uuid}': ({ ctl, params }) => {
    // "Stop and delete container" (the reference): a running one is stopped first.
    const c = findContainer(ctl, params.uuid);
    ctl.containers.delete(c.id);
    return { uuid: c.id, container_deleted: true };
  },

  'GET /container_system/containers/{uuid}/logs': ({ ctl, params, query }) => {
    const c = findContainer(ctl, params.uuid);
    const lines = Number(query.get('lines') ?? 100);
    return { uuid: c.id, logs: c.logs.slice(-Math.max(1, Number.isFinite(lines) ? lines : 100)) };
  },
};
