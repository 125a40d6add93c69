import { X509Certificate } from 'node:crypto';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureEmulator, type AzureEmulator } from '../../../src/testing/clouds/index.js';

let emu: AzureEmulator;
let agent: Agent;
let token: string;

async function arm(method: string, path: string, body?: unknown, auth = true): Promise<{ status: number; json: any }> {
  const res = await fetch(`${emu.endpoint}/subscriptions/${emu.subscriptionId}${path}${path.includes('?') ? '&' : '?'}api-version=2024-05-01`, {
    method,
    dispatcher: agent,
    // Header values are sent as strings, so an absent header must be left out, not set to undefined.
    headers: {
      ...(auth ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const RG = '/resourceGroups/vns3-rg';
const NET = `${RG}/providers/Microsoft.Network`;

beforeAll(async () => {
  emu = await startAzureEmulator();
  agent = new Agent({ connect: { ca: emu.ca } });
  token = (await emu.credential.getToken('https://management.azure.com/.default'))!.token;
  emu.addVm({ name: 'vm1', privateIp: '10.1.0.4' });
  emu.addRouteTable({ name: 'rt1', routes: [{ name: 'r1', addressPrefix: '172.16.0.0/12', nextHopIpAddress: '10.1.0.4' }] });
});

afterAll(async () => {
  await agent.close();
  await emu.stop();
});

describe('Azure ARM emulator wire protocol', () => {
  it('serves HTTPS with a certificate for IP 127.0.0.1 that the given CA verifies', async () => {
    const cert = new X509Certificate(emu.ca);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    const plain = await globalThis.fetch(`${emu.endpoint}/`).then(
      () => 'accepted',
      () => 'rejected',
    );
    expect(plain).toBe('rejected');
  });

  it('requires the bearer token', async () => {
    const res = await arm('GET', `${NET}/routeTables`, undefined, false);
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('AuthenticationFailed');
  });

  it('lists and gets route tables, NICs and VMs in ARM shapes', async () => {
    const list = await arm('GET', `${NET}/routeTables`);
    expect(list.json.value[0]).toMatchObject({
      name: 'rt1',
      type: 'Microsoft.Network/routeTables',
      properties: { provisioningState: 'Succeeded', routes: [{ name: 'r1', properties: { addressPrefix: '172.16.0.0/12', nextHopType: 'VirtualAppliance', nextHopIpAddress: '10.1.0.4' } }] },
    });
    const nics = await arm('GET', `${NET}/networkInterfaces`);
    expect(nics.json.value[0].properties.ipConfigurations[0].properties.privateIPAddress).toBe('10.1.0.4');
    expect(nics.json.value[0].properties.virtualMachine.id).toMatch(/virtualMachines\/vm1$/);
    const view = await arm('GET', `${RG}/providers/Microsoft.Compute/virtualMachines/vm1/instanceView`);
    expect(view.json.statuses.map((s: { code: string }) => s.code)).toContain('PowerState/running');
    emu.setPowerState('vm1', 'deallocated');
    const vm = await arm('GET', `${RG}/providers/Microsoft.Compute/virtualMachines/VM1?$expand=instanceView`);
    expect(vm.json.properties.instanceView.statuses[1].code).toBe('PowerState/deallocated');
  });

  it('answers ARM-shaped 404s', async () => {
    const table = await arm('GET', `${NET}/routeTables/nope`);
    expect(table.status).toBe(404);
    expect(table.json.error).toEqual({ code: 'ResourceNotFound', message: expect.stringContaining("routeTables/nope") });
    const group = await arm('GET', '/resourceGroups/ghost/providers/Microsoft.Network/routeTables');
    expect(group.json.error.code).toBe('ResourceGroupNotFound');
    const route = await arm('GET', `${NET}/routeTables/rt1/routes/nope`);
    expect(route.status).toBe(404);
  });

  it('PUTs routes with validation and counts writes', async () => {
    const before = emu.writes;
    const bad = await arm('PUT', `${NET}/routeTables/rt1/routes/r2`, { properties: { addressPrefix: '10.9.0.0/16', nextHopType: 'VirtualAppliance' } });
    expect(bad.status).toBe(400);
    const clash = await arm('PUT', `${NET}/routeTables/rt1/routes/r2`, { properties: { addressPrefix: '172.16.0.0/12', nextHopType: 'VirtualAppliance', nextHopIpAddress: '10.1.0.5' } });
    expect(clash.json.error.code).toBe('RouteConflict');
    expect(emu.writes).toBe(before);

    const ok = await arm('PUT', `${NET}/routeTables/rt1/routes/r1`, { properties: { addressPrefix: '172.16.0.0/12', nextHopType: 'VirtualAppliance', nextHopIpAddress: '10.1.0.5' } });
    expect(ok.status).toBe(200);
    expect(ok.json.properties.provisioningState).toBe('Succeeded');
    expect(emu.route('rt1', '172.16.0.0/12')?.nextHopIpAddress).toBe('10.1.0.5');
    expect(emu.writes).toBe(before + 1);
    expect(emu.requests.at(-1)).toMatchObject({ operation: 'routes.createOrUpdate', status: 200 });
  });

  it('injects failures per operation', async () => {
    emu.faults = { failRate: 1, operations: ['routeTables.get'] };
    expect((await arm('GET', `${NET}/routeTables/rt1`)).json.error.code).toBe('ServiceUnavailable');
    expect((await arm('GET', `${NET}/routeTables`)).status).toBe(200);
    emu.faults = {};
    expect((await arm('GET', `${NET}/routeTables/rt1`)).status).toBe(200);
  });
});

describe('Azure emulator request log', () => {
  it('keeps the newest requestLogLimit requests; a bad limit is refused', async () => {
    await expect(startAzureEmulator({ requestLogLimit: 1.5 })).rejects.toThrow(/Invalid requestLogLimit/);
    const small = await startAzureEmulator({ requestLogLimit: 2 });
    const smallAgent = new Agent({ connect: { ca: small.ca } });
    try {
      const bearer = (await small.credential.getToken('https://management.azure.com/.default'))!.token;
      small.addRouteTable({ name: 'rt9', routes: [] });
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${small.endpoint}/subscriptions/${small.subscriptionId}${NET}/routeTables/rt9?api-version=2024-05-01`, {
          dispatcher: smallAgent,
          headers: { authorization: `Bearer ${bearer}` },
        });
        expect(res.status).toBe(200);
        await res.text();
      }
      expect(small.requests).toHaveLength(2);
    } finally {
      await smallAgent.close();
      await small.stop();
    }
  });
});
