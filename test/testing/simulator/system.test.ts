import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specValidator, type SimulatedController } from '../../../src/testing/simulator/index.js';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf } from './steps.js';
import { sleep } from '../../../src/abort.js';

describe('simulator: system endpoints, request validation, error replies', () => {
  let mesh: TestMesh;
  let agent: Agent;
  beforeAll(async () => {
    mesh = await startTestMesh({ controllers: 2, cloudType: 'ec2', timings: { adminUi502Ms: 300 } });
    agent = new Agent({ connect: { ca: mesh.sim.controllers.map((c) => c.certificate) } });
  });
  afterAll(async () => {
    await agent?.close();
    await mesh?.stop();
  });

  /** A request outside our client, so that we see the status and body exactly as sent. */
  async function raw(ctl: SimulatedController, method: string, path: string, options: { body?: string; headers?: Record<string, string>; password?: string } = {}) {
    const res = await undiciFetch(`${ctl.url}${path}`, {
      dispatcher: agent,
      method,
      headers: { authorization: `Basic ${Buffer.from(`api:${options.password ?? ctl.password}`).toString('base64')}`, ...options.headers },
      body: options.body,
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: text.startsWith('{') ? (JSON.parse(text) as unknown) : undefined };
  }

  it('config, cloud_data and status/system describe the controller', async () => {
    const ctl = mesh.sim.controllers[0]!;
    const client = mesh.clients[0]!;
    const config = await client.get('/config');
    expect(config.private_ipaddress).toBe(ctl.identity.privateIp);
    expect(config.public_ipaddress).toBe(ctl.identity.publicIp);
    expect(config.overlay_ipaddress).toBe(ctl.identity.overlayIp);
    expect(config.asn).toBe(ctl.identity.asn);
    const changed = await client.put('/config', { body: { topology_name: 'lab', controller_name: 'edge-1' } });
    expect(changed.topology_name).toBe('lab');
    expect((await client.get('/config')).controller_name).toBe('edge-1');

    const cloud = await client.get('/cloud_data');
    expect(cloud.cloud_type).toBe('ec2');
    expect((cloud.cloud_data as { instanceId?: string }).instanceId).toBe(ctl.identity.instanceId);
    const status = await client.get('/status/system');
    expect(status.vns3_version).toBe(config.vns3_version);
  });

  it('PUT /api_password: the old password gets 401 at once, the new one works', async () => {
    const ctl = mesh.sim.controllers[1]!;
    const client = mesh.clients[1]!;
    const old = ctl.password;
    await client.put('/api_password', { body: { password: 'n3w-Passw0rd' } });
    expect(ctl.password).toBe('n3w-Passw0rd');
    const refused = await apiErrorOf(client.get('/config'));
    expect(refused.status).toBe(401);
    expect(refused.message).not.toContain('n3w-Passw0rd');
    expect((await raw(ctl, 'GET', '/config', { password: old })).status).toBe(401);
    client.setPassword('n3w-Passw0rd');
    expect((await client.get('/config')).licensed).toBe(false);
  });

  it('PUT /admin_ui: the API answers 502 (never 503) for a moment, then is back', async () => {
    const ctl = mesh.sim.controllers[0]!;
    const bare = ctl.connect({ retry: false });
    try {
      const settings = await bare.put('/admin_ui', { body: { enabled: true, admin_username: 'admin', admin_password: 'ui-secret' } });
      expect(JSON.stringify(settings)).not.toContain('ui-secret');
      // Every status until the API is back, polled densely: clients retry 502 here, not 503.
      const statuses: number[] = [];
      for (let i = 0; i < 500; i++) {
        const { status } = await raw(ctl, 'GET', '/config');
        statuses.push(status);
        if (status === 200) break;
        await sleep(5);
      }
      expect(statuses.at(-1)).toBe(200);
      expect(statuses[0]).toBe(502);
      expect(new Set(statuses.slice(0, -1))).toEqual(new Set([502]));
    } finally {
      await bare.close();
    }
  });

  it('malformed bodies get a 400 naming the field, in the spec error envelope', async () => {
    const ctl = mesh.sim.controllers[0]!;
    const validator = specValidator();
    const json = { 'content-type': 'application/json' };

    const noCidr = await raw(ctl, 'POST', '/routes', { headers: json, body: JSON.stringify({ description: 'x' }) });
    expect(noCidr.status).toBe(400);
    expect(noCidr.type).toContain('application/json');
    expect((noCidr.json as { error: { message: string } }).error.message).toContain('cidr');
    expect(validator.checkResponse('POST', '/routes', 400, noCidr.json)).toBeUndefined();

    const badId = await raw(ctl, 'PUT', '/peering/self', { headers: json, body: JSON.stringify({ id: 'x' }) });
    expect(badId.status).toBe(400);
    expect((badId.json as { error: { message: string } }).error.message).toContain("'id'");
    expect(validator.checkResponse('PUT', '/peering/self', 400, badId.json)).toBeUndefined();

    const notJson = await raw(ctl, 'PUT', '/config', { headers: json, body: '{"topology_name": ' });
    expect(notJson.status).toBe(400);
    expect(validator.checkResponse('PUT', '/config', 400, notJson.json)).toBeUndefined();
    // The error envelope is one line and never mixed with a success envelope.
    expect(notJson.text).not.toContain('\n');
    expect(notJson.json).not.toHaveProperty('response');

    // Clients send Content-Type: application/json even on a GET without a body.
    const get = await raw(ctl, 'GET', '/config', { headers: json });
    expect(get.status).toBe(200);
    expect(validator.checkResponse('GET', '/config', 200, get.json)).toBeUndefined();
  });

  it('error replies match the spec: 401, 403 Must be licensed first, keyset, 400 for a bad route id, 404 for an unknown endpoint', async () => {
    const ctl = mesh.sim.controllers[0]!;
    const validator = specValidator();
    const unauthorized = await raw(ctl, 'GET', '/config', { password: 'wrong' });
    expect(unauthorized.status).toBe(401);
    expect(validator.checkResponse('GET', '/config', 401, unauthorized.json)).toBeUndefined();

    const license = await raw(ctl, 'GET', '/license');
    expect((license.json as { error: { message: string } }).error.message).toBe('Must be licensed first.');
    expect(validator.checkResponse('GET', '/license', license.status, license.json)).toBeUndefined();

    const keyset = await raw(ctl, 'GET', '/keyset');
    expect((keyset.json as { error: { message: string } }).error.message).toContain('must be licensed');
    expect(validator.checkResponse('GET', '/keyset', keyset.status, keyset.json)).toBeUndefined();

    const route = await raw(ctl, 'DELETE', '/routes/4242');
    expect(route.status).toBe(400);
    expect(validator.checkResponse('DELETE', '/routes/4242', 400, route.json)).toBeUndefined();
    for (const bad of ['/routes/%E0%A4%A', '/routes/%zz', '/peering/peers/%']) {
      const malformed = await raw(ctl, 'DELETE', bad);
      expect(malformed.status).toBe(400);
      expect((malformed.json as { error: { message: string } }).error.message).toContain('percent-encoding');
    }

    const unknown = await raw(ctl, 'GET', '/no/such/endpoint');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toHaveProperty('error.message');
  });
});
