import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { load } from 'js-yaml';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { components, paths } from '../../src/generated/vns3.js';
import { bundleSpec } from '../../src/testing/simulator/spec-bundle.js';

type Json = Record<string, unknown>;
type Method = 'get' | 'put' | 'post' | 'delete';

const specPath = fileURLToPath(new URL('../../spec/vns3.yaml', import.meta.url));
// The split spec read as one document (root + paths/ + schemas/), as the simulator reads it.
const spec = bundleSpec(specPath);

// Looked up in the public VNS3 6.0.0 API reference; the SDK and the simulator
// depend on these exact ids, methods, paths and request content types.
const OPERATIONS: ReadonlyArray<[Method, string, string, 'json' | 'text' | null]> = [
  ['get', '/config', 'getConfig', null],
  ['put', '/config', 'putConfig', 'json'],
  ['get', '/cloud_data', 'getCloudData', null],
  ['get', '/status/system', 'getSystemStatus', null],
  ['put', '/api_password', 'putUpdateApiPassword', 'json'],
  ['put', '/admin_ui', 'putUpdateAdminUi', 'json'],
  ['get', '/license', 'getLicense', null],
  ['put', '/license', 'uploadLicense', 'text'],
  ['put', '/license/parameters', 'putSetLicenseParameters', 'json'],
  ['get', '/keyset', 'getKeyset', null],
  ['put', '/keyset', 'putKeyset', 'json'],
  ['get', '/peering', 'getPeeringStatus', null],
  ['put', '/peering/self', 'putSelfPeeringId', 'json'],
  ['post', '/peering/peers', 'postCreatePeer', 'json'],
  ['put', '/peering/peers/{peer_id}', 'putUpdatePeer', 'json'],
  ['delete', '/peering/peers/{peer_id}', 'deletePeer', null],
  ['get', '/routes', 'getRoutes', null],
  ['post', '/routes', 'postCreateRoute', 'json'],
  ['delete', '/routes/{route_id}', 'deleteRoute', null],
  ['put', '/routes/{route_id}/enable', 'enableRoute', null],
  ['put', '/routes/{route_id}/disable', 'disableRoute', null],
  ['get', '/firewall/rules', 'getFirewallRulesV1', null],
  ['post', '/firewall/rules', 'postCreateFirewallRuleV1', 'json'],
  ['delete', '/firewall/rules', 'deleteFirewallRuleByRule', 'json'],
  ['delete', '/firewall/rules/{position}', 'deleteFirewallRuleByPositionV1', null],
  ['put', '/firewall', 'putOverwriteFirewallV1', 'json'],
  ['put', '/firewall/actions', 'putFirewallActionV1', 'json'],
  ['get', '/firewall/rules/subgroup', 'getFirewallRuleSubgroupsV1', null],
  ['post', '/firewall/rules/subgroup', 'postCreateFirewallSubgroupV1', 'json'],
  ['put', '/firewall/rules/subgroup', 'putReinitializeFirewallSubgroupsV1', 'json'],
  ['delete', '/firewall/rules/subgroup', 'deleteFirewallSubgroupV1', 'json'],
  ['get', '/firewall/fwsets', 'getFirewallFwsetsV1', null],
  ['post', '/firewall/fwsets', 'postCreateFirewallFwsetV1', 'json'],
  ['put', '/firewall/fwsets', 'putReinitializeFwsetsV1', 'json'],
  ['delete', '/firewall/fwsets', 'deleteFirewallFwsetV1', 'json'],
  ['put', '/v2/firewall/actions', 'putFirewallAction', 'json'],
  ['get', '/v2/firewall/rules', 'getFirewallRules', null],
  ['post', '/v2/firewall/rules', 'postCreateFirewallRule', 'json'],
  ['put', '/v2/firewall/rules', 'putOverwriteFirewall', 'json'],
  ['put', '/v2/firewall/rules/import', 'importFirewallRules', 'json'],
  ['get', '/v2/firewall/rules/export', 'exportFirewallRules', null],
  ['put', '/v2/firewall/rules/{id}', 'putUpdateFirewallRule', 'json'],
  ['delete', '/v2/firewall/rules/{id}', 'deleteFirewallRule', null],
  ['get', '/v2/firewall/rules-groups', 'getFirewallRuleGroups', null],
  ['post', '/v2/firewall/rules-groups', 'postCreateFirewallRuleGroup', 'json'],
  ['get', '/v2/firewall/rules-groups/{name}', 'getFirewallRuleGroup', null],
  ['put', '/v2/firewall/rules-groups/{name}', 'putUpdateFirewallRuleGroup', 'json'],
  ['delete', '/v2/firewall/rules-groups/{name}', 'deleteFirewallRuleGroup', null],
  ['post', '/v2/firewall/rules-groups/{name}/rules', 'addRuleToGroup', 'json'],
  ['get', '/v2/firewall/fwsets', 'getFirewallFwsets', null],
  ['post', '/v2/firewall/fwsets', 'postCreateFirewallFwset', 'json'],
  ['get', '/v2/firewall/fwsets/{name}', 'getFirewallFwset', null],
  ['put', '/v2/firewall/fwsets/{name}', 'putUpdateFirewallFwset', 'json'],
  ['delete', '/v2/firewall/fwsets/{name}', 'deleteFirewallFwset', null],
  ['post', '/v2/firewall/fwsets/{name}/entries', 'addEntryToFwset', 'json'],
  ['delete', '/v2/firewall/fwsets/{name}/entries', 'deleteEntryFromFwset', 'json'],
  ['get', '/v2/firewall/subtables', 'getFirewallSubtables', null],
  ['post', '/v2/firewall/subtables', 'postCreateFirewallSubtable', 'json'],
  ['get', '/v2/firewall/subtables/{name}', 'getFirewallSubtable', null],
  ['put', '/v2/firewall/subtables/{name}', 'putUpdateFirewallSubtable', 'json'],
  ['delete', '/v2/firewall/subtables/{name}', 'deleteFirewallSubtable', null],
  ['post', '/v2/firewall/subtables/{name}/rules', 'addRuleToSubtable', 'json'],
  ['get', '/container_system', 'getContainerSystemStatus', null],
  ['post', '/container_system', 'postActionContainerSystem', 'json'],
  ['put', '/container_system', 'putConfigureContainerSystem', 'json'],
  ['get', '/container_system/ip_addresses', 'getContainerSystemIps', null],
  ['get', '/container_system/images', 'getContainerImages', null],
  ['post', '/container_system/images', 'postCreateContainerImage', 'json'],
  ['put', '/container_system/images/{uuid}', 'putUpdateContainerImage', 'json'],
  ['delete', '/container_system/images/{uuid}', 'deleteContainerImage', null],
  ['get', '/container_system/containers', 'getRunningContainers', null],
  ['post', '/container_system/containers', 'postStartContainer', 'json'],
  ['put', '/container_system/containers/{uuid}', 'putStopContainer', null],
  ['delete', '/container_system/containers/{uuid}', 'deleteContainer', null],
  ['get', '/container_system/containers/{uuid}/logs', 'getContainerLogs', null],
];

/** Operations whose success the reference gives no body, and downloads (not in the envelope). */
const WITHOUT_BODY = ['putReinitializeFirewallSubgroupsV1', 'putReinitializeFwsetsV1'];
const DOWNLOADS = ['exportFirewallRules'];

function obj(value: unknown, where: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${where} is not an object`);
  }
  return value as Json;
}

/** Follows a local `$ref` (only `#/...` pointers are used in the spec). */
function deref(value: unknown, where: string): Json {
  let node = obj(value, where);
  for (let hops = 0; typeof node.$ref === 'string' && hops < 10; hops++) {
    const ref = node.$ref;
    expect(ref.startsWith('#/'), `${where}: non-local $ref ${ref}`).toBe(true);
    let target: unknown = spec;
    for (const part of ref.slice(2).split('/')) {
      target = obj(target, ref)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    node = obj(target, ref);
  }
  return node;
}

function operation(method: Method, path: string): Json {
  return obj(obj(obj(spec.paths, 'paths')[path], path)[method], `${method} ${path}`);
}

const schemas = obj(obj(spec.components, 'components').schemas, 'components.schemas');

function makeAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'vns3', components: { schemas } });
  return ajv;
}

describe('spec/vns3.yaml', () => {
  it('is OpenAPI 3.0.3 served under https://{host}:8000/api', () => {
    expect(spec.openapi).toBe('3.0.3');
    const servers = spec.servers as Array<{ url: string; variables?: Json }>;
    expect(servers[0]?.url).toBe('https://{host}:8000/api');
    expect(obj(servers[0]?.variables, 'server variables').host).toBeDefined();
  });

  it('accepts basic auth or an api-token header', () => {
    const schemes = obj(obj(spec.components, 'components').securitySchemes, 'securitySchemes');
    expect(schemes.basicAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'basic' }));
    expect(schemes.tokenAuth).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'api-token' }));
    expect(spec.security).toEqual([{ basicAuth: [] }, { tokenAuth: [] }]);
  });

  it('describes exactly the listed operations, with unique operation ids', () => {
    const found: string[] = [];
    for (const [path, item] of Object.entries(obj(spec.paths, 'paths'))) {
      for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
        const op = obj(item, path)[method];
        if (op) found.push(`${method} ${path} ${String(obj(op, path).operationId)}`);
      }
    }
    const expected = OPERATIONS.map(([m, p, id]) => `${m} ${p} ${id}`);
    expect(found.sort()).toEqual([...expected].sort());
    expect(new Set(OPERATIONS.map(([, , id]) => id)).size).toBe(OPERATIONS.length);
  });

  describe.each(OPERATIONS)('%s %s (%s)', (method, path, operationId, body) => {
    const op = operation(method, path);

    it('has the reference operationId', () => {
      expect(op.operationId).toBe(operationId);
    });

    it('answers 2xx with the {response} envelope around a named schema (or a documented download or empty body)', () => {
      const responses = obj(op.responses, 'responses');
      const okCodes = Object.keys(responses).filter((c) => c.startsWith('2'));
      expect(okCodes.length).toBeGreaterThan(0);
      for (const code of okCodes) {
        const ok = deref(responses[code], `${operationId} ${code}`);
        // The reference gives these no body (firewall reloads) or a file (the firewall export).
        if (ok.content === undefined) {
          expect(WITHOUT_BODY).toContain(operationId);
          continue;
        }
        const json = deref(obj(obj(ok.content, 'content')['application/json'], 'json').schema, 'schema');
        if (DOWNLOADS.includes(operationId)) {
          expect(json.type).toBe('string');
          continue;
        }
        expect(json.type).toBe('object');
        expect(json.required).toEqual(['response']);
        const inner = obj(obj(json.properties, 'properties').response, 'response');
        expect(typeof inner.$ref).toBe('string');
        expect(String(inner.$ref)).toMatch(/^#\/components\/schemas\/[A-Z]\w+$/);
        expect(Object.keys(deref(inner, 'response schema')).length).toBeGreaterThan(0);
      }
    });

    it('describes every error with the controller error envelope', () => {
      const codes = Object.keys(obj(op.responses, 'responses')).filter((c) => !c.startsWith('2'));
      expect(codes).toContain('401');
      for (const code of codes) {
        expect(Number(code)).toBeGreaterThanOrEqual(400);
        const res = obj(op.responses, 'responses')[code];
        // Shared responses, or one inline where only one operation answers that status (410).
        if (code !== '410') expect(String(obj(res, code).$ref)).toMatch(/^#\/components\/responses\//);
        const schema = obj(obj(obj(deref(res, code).content, 'content')['application/json'], 'json').schema, 'schema');
        expect(schema.$ref).toBe('#/components/schemas/Error');
      }
    });

    it('declares every path parameter', () => {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const item = obj(obj(spec.paths, 'paths')[path], path);
      const params = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])]
        .map((p) => deref(p, 'parameter'))
        .filter((p) => p.in === 'path');
      expect(params.map((p) => p.name).sort()).toEqual(names.sort());
      for (const p of params) expect(p.required).toBe(true);
    });

    it('takes the reference request body', () => {
      const rb = op.requestBody as Json | undefined;
      if (body === null) {
        expect(rb).toBeUndefined();
        return;
      }
      expect(rb?.required).toBe(true);
      const content = obj(rb?.content, 'requestBody.content');
      expect(Object.keys(content)).toEqual([body === 'text' ? 'text/plain' : 'application/json']);
    });
  });

  it('has no empty schemas anywhere', () => {
    const empties: string[] = [];
    const shapeKeys = ['type', '$ref', 'oneOf', 'anyOf', 'allOf', 'required'];
    const visit = (node: unknown, where: string, isSchema: boolean): void => {
      if (Array.isArray(node)) {
        node.forEach((n, i) => visit(n, `${where}[${i}]`, isSchema));
        return;
      }
      if (node === null || typeof node !== 'object') return;
      const o = node as Json;
      if (isSchema && !shapeKeys.some((k) => k in o)) empties.push(where);
      for (const [k, v] of Object.entries(o)) {
        const childIsSchema =
          k === 'schema' || k === 'items' || k === 'oneOf' || k === 'anyOf' || k === 'allOf' ||
          (k === 'additionalProperties' && typeof v === 'object');
        if (k === 'properties' || (k === 'schemas' && where.endsWith('components'))) {
          for (const [name, s] of Object.entries(obj(v, k))) visit(s, `${where}.${k}.${name}`, true);
        } else {
          visit(v, `${where}.${k}`, childIsSchema);
        }
      }
    };
    visit(spec, '$', false);
    expect(empties).toEqual([]);
  });

  it('has components that ajv compiles, every one', () => {
    const ajv = makeAjv();
    const names = Object.keys(schemas);
    expect(names.length).toBeGreaterThan(40);
    for (const name of names) {
      expect(() => ajv.compile({ $ref: `vns3#/components/schemas/${name}` }), name).not.toThrow();
    }
    for (const required of ['Config', 'CloudData', 'Keyset', 'Peering', 'PeeringManager', 'Route', 'RouteMap',
      'FirewallRuleList', 'ContainerSystem', 'Image', 'Container', 'Error']) {
      expect(names).toContain(required);
    }
  });
});

describe('spec/vns3.yaml validates controller payloads', () => {
  const ajv = makeAjv();
  const validators = new Map<string, ValidateFunction>();
  const check = (name: string, value: unknown): boolean => {
    let v = validators.get(name);
    if (!v) {
      v = ajv.compile({ $ref: `vns3#/components/schemas/${name}` });
      validators.set(name, v);
    }
    return v(value);
  };

  it('accepts what a fresh and a licensed controller report in GET /config', () => {
    expect(check('Config', {
      licensed: false, peered: false, vns3_version: '6.0.0', private_ipaddress: '10.0.1.10',
      public_ipaddress: null, topology_name: null, controller_name: null, overlay_ipaddress: null, asn: null,
    })).toBe(true);
    expect(check('Config', {
      licensed: true, peered: true, vns3_version: '6.0.0', private_ipaddress: '10.0.1.10',
      public_ipaddress: '203.0.113.5', topology_name: 'mesh', controller_name: 'c1',
      overlay_ipaddress: '100.127.255.193', asn: 65001, manager_id: 1, topology_checksum: 'abc',
    })).toBe(true);
    expect(check('Config', { licensed: 'yes', private_ipaddress: '10.0.1.10' })).toBe(false);
  });

  it('accepts a route map keyed by id and rejects a route list', () => {
    const route = { id: 1, cidr: '10.0.0.0/24', description: 'lan', interface: 'eth0', gateway: '10.0.0.1',
      advertise: true, metric: 0, enabled: true, netmask: '255.255.255.0', editable: true, table: 'main' };
    expect(check('RouteMap', { '1': route, '2': { ...route, id: 2, gateway: undefined } })).toBe(true);
    expect(check('RouteMap', [route])).toBe(false);
    expect(check('RouteMap', { '1': { ...route, metric: 'low' } })).toBe(false);
  });

  it('accepts [rule, position] pairs for the firewall and rejects bare strings', () => {
    expect(check('FirewallRuleList', [['MACRO_CUST -o eth0 -s 10.0.0.2/32 -j MASQUERADE', 0]])).toBe(true);
    expect(check('FirewallRuleList', ['MACRO_CUST -j ACCEPT'])).toBe(false);
    expect(check('FirewallRuleList', [['MACRO_CUST -j ACCEPT']])).toBe(false);
    expect(check('FirewallRuleOperation', { status: 'submitted', rule: 'X', position: 0, token: 1.56e62 })).toBe(true);
  });

  it('accepts peering with managers and controllers maps', () => {
    const managers = {
      '1': { id: 1, self: true, overlay_ipaddress: '100.127.255.193' },
      '2': { id: 2, address: '10.0.2.10', reachable: false, mtu: 1500 },
      '3': { id: 3, not_set: true },
    };
    expect(check('Peering', { id: 1, peered: true, managers, controllers: managers })).toBe(true);
    expect(check('Peering', { id: null, managers: {} })).toBe(true);
    expect(check('Peering', { id: 1, managers: { '2': { address: 'x' } } })).toBe(false);
  });

  it('accepts keyset states from generation and fetch', () => {
    expect(check('Keyset', { keyset_present: false, in_progress: true, started_at: '2024-01-01T00:00:00Z',
      started_at_i: 1704067200 })).toBe(true);
    expect(check('Keyset', { keyset_present: true, in_progress: false, checksum: 'a'.repeat(40),
      created_at_i: 1704067260, uuid: 'u' })).toBe(true);
    expect(check('Keyset', { in_progress: true })).toBe(false);
  });

  it('accepts running as a boolean or a transition word only', () => {
    expect(check('ContainerSystem', { running: true, network: '198.51.100.0/28' })).toBe(true);
    expect(check('ContainerSystem', { running: 'starting', network: '198.51.100.0/28' })).toBe(true);
    expect(check('ContainerSystem', { running: 'maybe', network: '198.51.100.0/28' })).toBe(false);
  });

  it('accepts an error envelope with name and message and nothing less', () => {
    expect(check('Error', { error: { name: 'PrerequisiteError', message: 'Must be licensed first.' } })).toBe(true);
    expect(check('Error', { error: { message: 'x' } })).toBe(false);
  });

  it('enforces required fields of request bodies', () => {
    expect(check('RouteCreateRequest', { cidr: '10.1.0.0/16', advertise: true, interface: '_notset' })).toBe(true);
    expect(check('RouteCreateRequest', { description: 'no cidr' })).toBe(false);
    expect(check('KeysetRequest', { token: 't', source: '10.0.1.10' })).toBe(true);
    expect(check('KeysetRequest', { source: '10.0.1.10' })).toBe(false);
    expect(check('PeerCreateRequest', { id: 2, name: '10.0.2.10', overlay_mtu: 1500 })).toBe(true);
    expect(check('PeerCreateRequest', { id: 2, name: '10.0.2.10', overlay_mtu: '1500' })).toBe(true);
    expect(check('PeerCreateRequest', { id: 0, name: '10.0.2.10' })).toBe(false);
    expect(check('FirewallRuleCreateRequest', { rule: 'INPUT_CUST -j ACCEPT', position: -1 })).toBe(true);
    expect(check('FirewallRuleCreateRequest', { rule: 'INPUT_CUST -j ACCEPT', position: -2 })).toBe(false);
    expect(check('ContainerSystemActionRequest', { action: 'restart' })).toBe(false);
    expect(check('LicenseParametersRequest', { default: true })).toBe(true);
  });

  it('wants exactly one image source, and a uuid or image, name and command for containers', () => {
    expect(check('ImageCreateRequest', { name: 'ha', url: 'https://example.com/ha.tar.gz' })).toBe(true);
    expect(check('ImageCreateRequest', { name: 'ha' })).toBe(false);
    expect(check('ImageCreateRequest', { name: 'ha', url: 'u', buildurl: 'b' })).toBe(false);
    expect(check('ContainerCreateRequest', { uuid: 'c1' })).toBe(true);
    expect(check('ContainerCreateRequest', { image_uuid: 'i', name: 'ha', command: '/run.sh' })).toBe(true);
    expect(check('ContainerCreateRequest', { name: 'ha' })).toBe(false);
  });
});

describe('src/generated/vns3.ts', () => {
  it('types the envelope of GET /config as the Config schema', () => {
    type Body = paths['/config']['get']['responses'][200]['content']['application/json'];
    expectTypeOf<Body['response']>().toEqualTypeOf<components['schemas']['Config']>();
    expectTypeOf<Body['response']['licensed']>().toEqualTypeOf<boolean>();
    const sample: Body = {
      response: {
        licensed: true, peered: false, vns3_version: '6.0.0', private_ipaddress: '10.0.0.1',
        public_ipaddress: null, topology_name: 't', controller_name: 'c', overlay_ipaddress: null, asn: 65000,
      },
    };
    expect(sample.response.licensed).toBe(true);
  });

  it('types request bodies and path parameters', () => {
    type Post = NonNullable<paths['/routes']['post']['requestBody']>['content']['application/json'];
    expectTypeOf<Post['cidr']>().toEqualTypeOf<string>();
    type LicenseBody = NonNullable<paths['/license']['put']['requestBody']>['content']['text/plain'];
    expectTypeOf<LicenseBody>().toEqualTypeOf<string>();
    type PeerParams = paths['/peering/peers/{peer_id}']['put']['parameters']['path'];
    expectTypeOf<PeerParams['peer_id']>().toEqualTypeOf<number>();
    type Routes = paths['/routes']['get']['responses'][200]['content']['application/json']['response'];
    const routes: Routes = { '1': { cidr: '10.0.0.0/24', description: null, advertise: false, metric: 0, enabled: true } };
    expect(Object.keys(routes)).toEqual(['1']);
  });
});

// The error statuses the public VNS3 6.0.0 API reference lists per operation (200 left out). Ours
// may add a status only where the reference is silent, and the operation's description must say so;
// 502/503 come from the web front in front of every operation (described in info.description).
const REFERENCE_ERROR_STATUSES: ReadonlyArray<[Method, string, number[]]> = [
  ['get', '/config', [401]],
  ['put', '/config', [400, 401]],
  ['get', '/cloud_data', [401]],
  ['get', '/status/system', [401, 403]],
  ['put', '/api_password', [400, 401]],
  ['put', '/admin_ui', [400, 401]],
  ['get', '/license', [401, 403]],
  ['put', '/license', [400, 401]],
  ['put', '/license/parameters', [400, 401]],
  ['get', '/keyset', [401, 403]],
  ['put', '/keyset', [400, 401]],
  ['get', '/peering', [401, 403]],
  ['put', '/peering/self', [400, 401, 403]],
  ['post', '/peering/peers', [400, 401, 403]],
  ['put', '/peering/peers/{peer_id}', [400, 401, 403]],
  ['delete', '/peering/peers/{peer_id}', [400, 401, 403]],
  ['get', '/routes', [401, 403]],
  ['post', '/routes', [400, 401, 403]],
  ['delete', '/routes/{route_id}', [400, 401]],
  ['put', '/routes/{route_id}/enable', [400, 401]],
  ['put', '/routes/{route_id}/disable', [400, 401]],
  ['get', '/firewall/rules', [401, 403]],
  ['post', '/firewall/rules', [400, 401, 403]],
  ['delete', '/firewall/rules', [400, 401, 403]],
  ['delete', '/firewall/rules/{position}', [400, 401, 403]],
  ['get', '/container_system', [401, 403]],
  ['post', '/container_system', [400, 401, 403]],
  ['put', '/container_system', [401, 403]],
  ['get', '/container_system/ip_addresses', [401, 403]],
  ['get', '/container_system/images', [401, 403, 500]],
  ['post', '/container_system/images', [400, 401, 403]],
  ['put', '/container_system/images/{uuid}', [400, 401, 403]],
  ['delete', '/container_system/images/{uuid}', [401, 403]],
  ['get', '/container_system/containers', [401, 403]],
  ['post', '/container_system/containers', [400, 401, 403]],
  ['put', '/container_system/containers/{uuid}', [401, 403]],
  ['delete', '/container_system/containers/{uuid}', [401, 403]],
  ['get', '/container_system/containers/{uuid}/logs', [401]],
];

describe('error statuses follow the reference', () => {
  const paths = obj(spec.paths, 'paths');
  it.each(REFERENCE_ERROR_STATUSES)('%s %s', (method, path, listed) => {
    const op = obj(obj(paths[path], path)[method], `${method} ${path}`);
    const statuses = Object.keys(obj(op.responses, 'responses')).filter((s) => s !== '200' && s !== '502' && s !== '503');
    const description = typeof op.description === 'string' ? op.description : '';
    for (const status of statuses) {
      if (!listed.includes(Number(status))) expect(description, `${method} ${path} ${status} is not in the reference`).toContain(status);
    }
  });
});
