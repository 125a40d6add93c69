/**
 * `loadTopology`: a topology file (YAML or JSON) and its variables → a checked `Topology`. Every
 * problem is collected (schema, references between names, unresolved variables, unreadable secret
 * files) and thrown together, each with the file, line, column and field, before any controller
 * is contacted.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, dirname, resolve as resolvePath } from 'node:path';
import { isCidr } from '../net/index.js';
import type { LicenseParametersInput, PeerAddressKind } from '../macros/index.js';
import { Vns3TopologyError, type TopologyProblem } from './errors.js';
import { schemaProblems } from './schema.js';
import { Secret } from './secret.js';
import { fieldOf, locate, readSource, type SourceDocument } from './source.js';
import type { Topology, TopologyBridge, TopologyConnection, TopologyController, TopologyHaPair, TopologyPeering } from './types.js';
import { collectVariables, resolveReferences, type VariableSources } from './variables.js';

/** Where `loadTopology` takes variable values from. */
export type LoadTopologyOptions = VariableSources;

type Json = Record<string, unknown>;
type SecretInput = string | { env: string } | { file: string };

/** Collects problems with their place in the file while the topology is built. */
class Problems {
  readonly list: TopologyProblem[] = [];
  constructor(private readonly source: SourceDocument) {}

  add(pointer: string, message: string): void {
    const at = locate(this.source, pointer);
    this.list.push({ file: this.source.file, line: at?.line, column: at?.column, field: fieldOf(pointer), message });
  }
}

/** Reads `{ env }`, `{ file }` or a string as a Secret; a file's trailing line break is not part of a password or token. */
async function readSecret(input: SecretInput | undefined, pointer: string, ctx: BuildContext, keepText = false): Promise<Secret | undefined> {
  if (input === undefined) return undefined;
  let text: string | undefined;
  if (typeof input === 'string') text = input;
  else if ('env' in input) {
    text = ctx.env[input.env];
    if (text === undefined) ctx.problems.add(pointer, `environment variable ${input.env} is not set`);
  } else {
    const file = isAbsolute(input.file) ? input.file : resolvePath(ctx.baseDir, input.file);
    try {
      text = await readFile(file, 'utf8');
      if (!keepText) text = text.replace(/\r?\n$/, '');
    } catch (error) {
      // The path may be the secret pasted by mistake: the message does not repeat it.
      ctx.problems.add(pointer, `the secret's file cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (text === undefined) return undefined;
  if (text.trim() === '') {
    ctx.problems.add(pointer, 'is empty');
    return undefined;
  }
  ctx.secrets.add(text);
  return new Secret(text);
}

interface BuildContext {
  problems: Problems;
  env: NodeJS.ProcessEnv;
  baseDir: string;
  secrets: Set<string>;
}

async function connectionOf(raw: Json, pointer: string, ctx: BuildContext, defaults?: TopologyConnection): Promise<TopologyConnection> {
  const str = (k: string): string | undefined => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  return {
    username: str('username') ?? defaults?.username,
    password: (await readSecret(raw.password as SecretInput | undefined, `${pointer}/password`, ctx)) ?? defaults?.password,
    apiToken: (await readSecret(raw.apiToken as SecretInput | undefined, `${pointer}/apiToken`, ctx)) ?? defaults?.apiToken,
    fingerprint256: str('fingerprint256') ?? defaults?.fingerprint256,
    caFile: str('caFile') ? resolvePath(ctx.baseDir, str('caFile')!) : defaults?.caFile,
    insecure: typeof raw.insecure === 'boolean' ? raw.insecure : defaults?.insecure,
    timeoutMs: typeof raw.timeoutMs === 'number' ? raw.timeoutMs : defaults?.timeoutMs,
  };
}

async function controllersOf(doc: Json, ctx: BuildContext, defaults: TopologyConnection): Promise<TopologyController[]> {
  const list = doc.controllers as Json[];
  const names = new Map<string, number>();
  const hosts = new Map<string, number>();
  const ids = new Map<number, number>();
  const out: TopologyController[] = [];
  for (const [i, c] of list.entries()) {
    const at = `/controllers/${i}`;
    const name = c.name as string;
    const host = (c.host as string).trim().toLowerCase();
    const peerId = typeof c.peerId === 'number' ? c.peerId : i + 1;
    if (names.has(name)) ctx.problems.add(`${at}/name`, `"${name}" is already the name of controllers[${names.get(name)}]`);
    if (hosts.has(host)) ctx.problems.add(`${at}/host`, `is the same host as controllers[${hosts.get(host)}]`);
    if (ids.has(peerId)) ctx.problems.add(`${at}/peerId`, `peering id ${peerId} is already controllers[${ids.get(peerId)}]'s`);
    names.set(name, i);
    hosts.set(host, i);
    ids.set(peerId, i);
    if (!isCidr(c.subnet)) ctx.problems.add(`${at}/subnet`, 'must be an IPv4 CIDR such as 10.0.1.0/24');
    const connection = await connectionOf(c, at, ctx, defaults);
    if (!connection.password && !connection.apiToken) ctx.problems.add(at, 'needs a password or apiToken (here or under defaults)');
    const plugins = (c.plugins ?? {}) as Json;
    out.push({
      name,
      host: c.host as string,
      subnet: c.subnet as string,
      cloud: c.cloud as string | undefined,
      peerId,
      connection,
      routes: (c.routes ?? []) as TopologyController['routes'],
      firewall: c.firewall as string[] | undefined,
      images: (plugins.images ?? []) as TopologyController['images'],
      containers: (plugins.containers ?? []) as TopologyController['containers'],
    });
  }
  return out;
}

function peeringOf(doc: Json, names: Set<string>, ordered: string[], problems: Problems): TopologyPeering {
  const raw = (doc.peering ?? {}) as Json;
  const mesh = raw.mesh ?? 'full';
  const links: [string, string][] = [];
  const key = (a: string, b: string): string => [a, b].sort().join('\u0000');
  const seen = new Set<string>();
  const link = (a: string, b: string): void => {
    if (!seen.has(key(a, b))) links.push(ordered.indexOf(a) < ordered.indexOf(b) ? [a, b] : [b, a]);
    seen.add(key(a, b));
  };
  if (mesh === 'full') {
    for (const [i, a] of ordered.entries()) for (const b of ordered.slice(i + 1)) link(a, b);
  } else {
    for (const [from, tos] of Object.entries(mesh as Record<string, string[]>)) {
      if (!names.has(from)) problems.add(`/peering/mesh/${from}`, `"${from}" is not a controller of this file`);
      for (const [j, to] of tos.entries()) {
        if (!names.has(to)) problems.add(`/peering/mesh/${from}/${j}`, `"${to}" is not a controller of this file`);
        else if (to === from) problems.add(`/peering/mesh/${from}/${j}`, 'a controller does not peer with itself');
        else if (names.has(from)) link(from, to);
      }
    }
  }
  return {
    mode: mesh === 'full' ? 'full' : 'map',
    links,
    address: (raw.address ?? 'private') as PeerAddressKind,
    mtu: raw.mtu as number | undefined,
    peerRoutes: raw.peerRoutes !== false,
    advertiseSubnets: raw.advertiseSubnets !== false,
    removeExtra: raw.removeExtra !== false,
  };
}

function haOf(doc: Json, names: Set<string>, problems: Problems): TopologyHaPair[] {
  const pairs = (doc.ha ?? []) as TopologyHaPair[];
  const used = new Map<string, number>();
  pairs.forEach((p, i) => {
    for (const role of ['primary', 'secondary'] as const) {
      if (!names.has(p[role])) problems.add(`/ha/${i}/${role}`, `"${p[role]}" is not a controller of this file`);
      else if (used.has(p[role])) problems.add(`/ha/${i}/${role}`, `"${p[role]}" is already in ha[${used.get(p[role])}]`);
      used.set(p[role], i);
    }
    if (p.primary === p.secondary) problems.add(`/ha/${i}/secondary`, 'must be another controller than the primary');
  });
  return pairs;
}

/** IPsec bridges: both sides controllers of the file and not the same, names unique, networks CIDRs (default: the subnet). */
async function bridgesOf(doc: Json, controllers: TopologyController[], ctx: BuildContext): Promise<TopologyBridge[]> {
  const out: TopologyBridge[] = [];
  const names = new Map<string, number>();
  const pairs = new Map<string, number>();
  for (const [i, raw] of ((doc.ipsec ?? []) as Json[]).entries()) {
    const at = `/ipsec/${i}`;
    const name = raw.name as string;
    if (names.has(name)) ctx.problems.add(`${at}/name`, `"${name}" is already the name of ipsec[${names.get(name)}]`);
    names.set(name, i);
    const sides = { a: raw.a as string, b: raw.b as string };
    const networks = { a: [] as string[], b: [] as string[] };
    const given = (raw.networks ?? {}) as Record<'a' | 'b', string[] | undefined>;
    for (const side of ['a', 'b'] as const) {
      const controller = controllers.find((c) => c.name === sides[side]);
      if (!controller) ctx.problems.add(`${at}/${side}`, `"${sides[side]}" is not a controller of this file`);
      networks[side] = given[side] ?? (controller ? [controller.subnet] : []);
      given[side]?.forEach((n, j) => {
        if (!isCidr(n)) ctx.problems.add(`${at}/networks/${side}/${j}`, 'must be an IPv4 CIDR such as 10.0.1.0/24');
      });
    }
    if (sides.a === sides.b) ctx.problems.add(`${at}/b`, 'must be another controller than a');
    // A controller holds one endpoint per remote address: a second bridge between the same two is refused by both.
    const pair = [sides.a, sides.b].sort().join('\u0000');
    if (pairs.has(pair)) ctx.problems.add(`${at}/b`, `ipsec[${pairs.get(pair)}] already bridges ${sides.a} and ${sides.b} (a controller has one IPsec endpoint per remote address)`);
    pairs.set(pair, i);
    if (raw.vtiPool !== undefined && !isCidr(raw.vtiPool)) ctx.problems.add(`${at}/vtiPool`, 'must be an IPv4 CIDR such as 169.254.0.0/16');
    const psk = await readSecret(raw.psk as SecretInput, `${at}/psk`, ctx);
    if (!psk) continue;
    out.push({ name, ...sides, psk, ikeVersion: raw.ikeVersion as 1 | 2 | undefined, networks, advertise: raw.advertise === true, vtiPool: raw.vtiPool as string | undefined });
  }
  return out;
}

async function licenseOf(doc: Json, ctx: BuildContext): Promise<Topology['license'] | undefined> {
  const raw = doc.license as Json;
  const input = (raw.text ?? (raw.file !== undefined ? { file: raw.file } : { env: raw.env })) as SecretInput;
  const text = await readSecret(input, '/license', ctx, true);
  return text && { text, parameters: (raw.parameters ?? { default: true }) as LicenseParametersInput };
}

/** Builds the topology from a resolved, schema-valid document; problems go to `ctx`. */
async function build(doc: Json, file: string, ctx: BuildContext): Promise<Omit<Topology, 'secrets'> | undefined> {
  const defaults = await connectionOf((doc.defaults ?? {}) as Json, '/defaults', ctx);
  const controllers = await controllersOf(doc, ctx, defaults);
  const ordered = controllers.map((c) => c.name);
  const names = new Set(ordered);
  const root = (doc.root as string | undefined) ?? ordered[0]!;
  if (!names.has(root)) ctx.problems.add('/root', `"${root}" is not a controller of this file`);
  const peering = peeringOf(doc, names, ordered, ctx.problems);
  const ha = haOf(doc, names, ctx.problems);
  const bridges = await bridgesOf(doc, controllers, ctx);
  const license = await licenseOf(doc, ctx);
  const keysetToken = await readSecret((doc.keyset as Json).token as SecretInput, '/keyset/token', ctx);
  if (!license || !keysetToken) return undefined;
  return { file, name: doc.name as string | undefined, root, license, keysetToken, controllers, peering, ha, bridges };
}

/**
 * Loads a topology file (YAML or JSON) with its variables: reads the file, fills in `${var.…}` and
 * `${env.…}` references (var files in the shape `terraform output -json` or `vns3-sim --json`
 * prints, `VNS3_VAR_<name>`, declared defaults), validates against the published JSON Schema,
 * checks names against each other, and reads `{ env }` / `{ file }` secrets. Throws
 * Vns3TopologyError listing every problem with its file, line, column and field; never a secret.
 */
export async function loadTopology(file: string, options: LoadTopologyOptions = {}): Promise<Topology> {
  const env = options.env ?? process.env;
  const source = await readSource(file);
  const declared = (source.data !== null && typeof source.data === 'object' && (source.data as Json).variables) || {};
  const variables = await collectVariables(declared as Record<string, { default?: unknown; sensitive?: boolean }>, { ...options, env });
  const resolution = resolveReferences(source, variables, env);
  const schema = schemaProblems(resolution.data, source);
  if (schema.length > 0) throw new Vns3TopologyError(schema);
  const ctx: BuildContext = { problems: new Problems(source), env, baseDir: dirname(file), secrets: new Set(resolution.secrets) };
  const topology = await build(resolution.data as Json, file, ctx);
  if (ctx.problems.list.length > 0 || !topology) throw new Vns3TopologyError(ctx.problems.list);
  const result = topology as Topology;
  Object.defineProperty(result, 'secrets', { value: Object.freeze([...ctx.secrets]), enumerable: false });
  return result;
}
