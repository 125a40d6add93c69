import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { components, paths } from '../../src/generated/vns3.js';
import { bundleSpec } from '../../src/testing/simulator/spec-bundle.js';

type Json = Record<string, unknown>;
type Method = 'get' | 'put' | 'post' | 'delete';

const specPath = fileURLToPath(new URL('../../spec/vns3.yaml', import.meta.url));
// The split spec read as one document (root + paths/ + schemas/), as the simulator reads it.
const spec = bundleSpec(specPath);

/** Every operation of the spec as `[method, path template, operation]`, read from the spec itself. */
const OPERATIONS: ReadonlyArray<[Method, string, Json]> = Object.entries(spec.paths as Json).flatMap(([path, item]) =>
  (['get', 'put', 'post', 'delete'] as const).flatMap((m): Array<[Method, string, Json]> => {
    const op = (item as Json)[m];
    return op ? [[m, path, op as Json]] : [];
  }),
);

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
  const ajv = new Ajv({ strict: false, allErrors: true, formats: { binary: true } });
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

  it('has only get/put/post/delete operations, each with a unique operation id', () => {
    const methods = Object.values(obj(spec.paths, 'paths')).flatMap((item) =>
      Object.keys(obj(item, 'path item')).filter((k) => k !== 'parameters' && k !== 'summary' && k !== 'description'),
    );
    expect(methods.filter((m) => !['get', 'put', 'post', 'delete'].includes(m))).toEqual([]);
    const ids = OPERATIONS.map(([, , op]) => String(op.operationId ?? ''));
    expect(ids.filter((id) => !/^[A-Za-z][A-Za-z0-9]*$/.test(id))).toEqual([]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  describe.each(OPERATIONS.map(([m, p, op]) => [m, p, String(op.operationId)] as const))('%s %s (%s)', (method, path) => {
    const op = operation(method, path);
    const responses = obj(op.responses, 'responses');
    const successes = Object.keys(responses).filter((c) => c.startsWith('2'));

    it('answers a 2xx with the {response} envelope, a file (a download) or no body', () => {
      expect(successes.length).toBeGreaterThan(0);
      for (const code of successes) {
        const ok = deref(responses[code], `${method} ${path} ${code}`);
        expect(typeof ok.description).toBe('string');
        // No content: the reference gives this success no body (e.g. a reload that answers 202).
        if (ok.content === undefined) continue;
        for (const [media, value] of Object.entries(obj(ok.content, 'content'))) {
          const schema = deref(obj(value, media).schema, `${code} ${media} schema`);
          if (schema.type === 'string') {
            // A download (read through client.raw with parseAs): a file, not the envelope.
            expect(schema.format, `${code} ${media}`).toBe('binary');
            continue;
          }
          expect(media).toBe('application/json');
          expect(schema.type).toBe('object');
          expect(schema.required).toEqual(['response']);
          const inner = obj(obj(schema.properties, 'properties').response, 'response');
          if (typeof inner.$ref === 'string') {
            expect(String(inner.$ref)).toMatch(/^#\/components\/schemas\/[A-Z]\w+$/);
            expect(Object.keys(deref(inner, 'response schema')).length).toBeGreaterThan(0);
          } else {
            // Inline only for a bare value (`{"response": true}`, `{"response": "ok"}`).
            expect(['string', 'boolean', 'integer', 'number']).toContain(inner.type);
          }
        }
      }
    });

    it('describes every error with the controller error envelope', () => {
      const codes = Object.keys(responses).filter((c) => !c.startsWith('2'));
      expect(codes).toContain('401');
      for (const code of codes) {
        expect(Number(code)).toBeGreaterThanOrEqual(400);
        // A shared response of the root, or inline where one operation alone answers that status.
        const schema = obj(obj(obj(deref(responses[code], code).content, 'content')['application/json'], 'json').schema, 'schema');
        expect(schema.$ref).toBe('#/components/schemas/Error');
      }
    });

    it('declares every path parameter, and no other', () => {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const item = obj(obj(spec.paths, 'paths')[path], path);
      const params = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])]
        .map((p) => deref(p, 'parameter'))
        .filter((p) => p.in === 'path');
      expect(params.map((p) => p.name).sort()).toEqual(names.sort());
      for (const p of params) expect(p.required).toBe(true);
    });

    it('takes a body only with a content type and a schema', () => {
      const rb = op.requestBody as Json | undefined;
      if (rb === undefined) return;
      expect(typeof rb.required).toBe('boolean');
      const content = obj(rb.content, 'requestBody.content');
      expect(Object.keys(content).length).toBeGreaterThan(0);
      for (const media of Object.values(content)) expect(Object.keys(obj(obj(media, 'media').schema, 'schema')).length).toBeGreaterThan(0);
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

  it('holds the fixes to the reference in the Configuration and plugin areas', () => {
    // GET /ms: the MS configuration (the reference gives a webhook alert's schema).
    expect(check('ConfigMs', { ip: '192.0.2.10', alert_enabled: true })).toBe(true);
    expect(check('ConfigMs', { ip: null, alert_enabled: 'yes' })).toBe(false);
    // A commit names the new image with a string (the reference: a boolean).
    expect(check('ContainerCommitRequest', { name: 'ha-v2' })).toBe(true);
    expect(check('ContainerCommitRequest', { name: true })).toBe(false);
    // A plugin user is named by `username` (the reference requires a `name` it does not define).
    expect(check('PluginInstanceUserRequest', { username: 'ops', password: 'x' })).toBe(true);
    expect(check('PluginInstanceUserRequest', { name: 'ops' })).toBe(false);
    expect(check('PluginFirewallPresetRequest', { preset: 'port_map', host_port: 8443, container_port: 443, protocol: 'tcp' })).toBe(true);
    expect(check('PluginFirewallPresetRequest', { preset: 'open_everything' })).toBe(false);
    expect(check('ConfigVariablesByCollection', { system: [{ variable: 'VNS3_PUBLIC_IP', value: '203.0.113.5' }] })).toBe(true);
    expect(check('ConfigVariablesByCollection', { system: [{ value: 'no name' }] })).toBe(false);
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

  it('types the operations added with the whole API: plugin ids, slugs, downloads, bare values', () => {
    type PluginParams = paths['/plugins/{id}']['get']['parameters']['path'];
    expectTypeOf<PluginParams['id']>().toEqualTypeOf<number>();
    type SlugParams = paths['/plugin-instances/{id}/logs/{slug}/content']['get']['parameters']['path'];
    expectTypeOf<SlugParams['slug']>().toEqualTypeOf<number | string>();
    type Ms = paths['/ms']['get']['responses'][200]['content']['application/json']['response'];
    expectTypeOf<Ms>().toEqualTypeOf<components['schemas']['ConfigMs']>();
    type TestAlert = paths['/ms/alert/test']['post']['responses'][200]['content']['application/json']['response'];
    expectTypeOf<TestAlert>().toEqualTypeOf<boolean>();
    type Install = paths['/plugins']['post']['responses'][201]['content']['application/json']['response'];
    expectTypeOf<Install>().toEqualTypeOf<components['schemas']['Plugin']>();
    type Download = paths['/plugins/{id}/exports/{export_name}']['get']['responses'][200]['content'];
    expectTypeOf<keyof Download>().toEqualTypeOf<'application/octet-stream' | 'text/plain'>();
    type UpgradeBody = NonNullable<paths['/license/upgrade']['put']['requestBody']>['content']['text/plain'];
    expectTypeOf<UpgradeBody>().toEqualTypeOf<string>();
    type Commit = NonNullable<paths['/container_system/containers/{uuid}/commit']['post']['requestBody']>['content']['application/json'];
    expectTypeOf<Commit['name']>().toEqualTypeOf<string>();
    const user: components['schemas']['PluginInstanceUserRequest'] = { username: 'ops', require_public_key: true };
    expect(user.username).toBe('ops');
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
