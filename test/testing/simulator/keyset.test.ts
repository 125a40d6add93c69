import { Client, fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Vns3ApiError, type Vns3Client } from '../../../src/client/index.js';
import { startTestMesh, type TestMesh, type TestMeshOptions } from '../../../src/testing/index.js';
import { sleep } from '../../../src/abort.js';
import { apiErrorOf, licenseRoot, waitFor, waitKeyset, waitLicensed } from './steps.js';

/** What one `GET /keyset` on a fetching peer shows. */
async function lookAtKeyset(client: Vns3Client): Promise<string> {
  try {
    const k = await client.get('/keyset');
    return k.keyset_present ? 'keyset' : k.in_progress ? 'in progress' : 'nothing';
  } catch (err) {
    if (err instanceof Vns3ApiError && err.status === 403 && err.apiMessage?.includes('must be licensed')) return 'must be licensed';
    if (err instanceof Vns3ApiError && err.status !== 502 && err.status !== 503) throw err;
    return 'down';
  }
}

/**
 * Licenses and keys the root, starts a fetch on the peer, and follows it with `GET /keyset` every
 * 10 ms until the peer shows its keyset licensed: the distinct things seen, in order.
 */
async function followFetch(options: TestMeshOptions): Promise<{ mesh: TestMesh; seen: string[] }> {
  // Short reboots and keysets whatever the profile: the ordering depends only on the fetch timings.
  const timings = { rebootOutageMs: 150, reboot5xxMs: 100, keysetGenerationMs: 50, keysetFetchMs: 200, ...options.timings };
  const mesh = await startTestMesh({ controllers: 2, ...options, timings });
  await licenseRoot(mesh);
  await mesh.clients[0]!.put('/keyset', { body: { token: 'tok' } });
  await waitKeyset(mesh.clients[0]!);
  const peer = mesh.sim.controllers[1]!.connect({ retry: false, timeoutMs: 1_000 });
  const seen: string[] = [];
  try {
    await peer.put('/keyset', { body: { token: 'tok', source: mesh.sim.controllers[0]!.identity.privateIp } });
    for (let i = 0; i < 2_000; i++) {
      const now = await lookAtKeyset(peer);
      if (seen.at(-1) !== now) seen.push(now);
      if (now === 'keyset' && mesh.sim.controllers[1]!.licensed) break;
      await sleep(10);
    }
  } finally {
    await peer.close();
  }
  return { mesh, seen };
}

describe('simulator: keysets', () => {
  let mesh: TestMesh | undefined;
  afterEach(async () => {
    await mesh?.stop();
    mesh = undefined;
  });

  it('generates in the background and refuses a second PUT while running and once present', async () => {
    mesh = await startTestMesh({ controllers: 1, timings: { keysetGenerationMs: 300 } });
    const client = mesh.clients[0]!;
    const unlicensed = await apiErrorOf(client.get('/keyset'));
    expect(unlicensed.apiMessage).toContain('must be licensed');

    await licenseRoot(mesh);
    const started = await client.put('/keyset', { body: { token: 'secret-token' } });
    expect(started.in_progress).toBe(true);
    expect(started.keyset_present).toBe(false);
    expect(started.started_at_i).toBeGreaterThan(0);
    expect(typeof started.started_at).toBe('string');

    const busy = await apiErrorOf(client.put('/keyset', { body: { token: 'secret-token' } }));
    expect(busy.apiMessage).toBe('Keyset setup in progress.');

    const done = await waitKeyset(client);
    expect(done.checksum).toMatch(/^[0-9a-f]{32}$/);
    const exists = await apiErrorOf(client.put('/keyset', { body: { token: 'secret-token' } }));
    expect(exists.apiMessage).toBe('Keyset already exists.');
  });

  it('a peer fetching from the root ends licensed with the same checksum, after its reboot', async () => {
    mesh = await startTestMesh({ controllers: 2 });
    const [root, peer] = mesh.clients;
    await licenseRoot(mesh);
    await root!.put('/keyset', { body: { token: 'tok' } });
    const rootKeyset = await waitKeyset(root!);

    // An idle keep-alive connection to the peer: only a reboot closes it (both sides keep it 30 s).
    const peerSim = mesh.sim.controllers[1]!;
    const watcher = new Client(`https://${peerSim.host}`, { connect: { ca: peerSim.certificate }, keepAliveTimeout: 30_000 });
    let disconnects = 0;
    watcher.on('disconnect', () => disconnects++);
    const hello = await undiciFetch(`${peerSim.url}/config`, {
      dispatcher: watcher,
      headers: { authorization: `Basic ${Buffer.from(`api:${peerSim.password}`).toString('base64')}` },
    });
    expect(hello.status).toBe(200);
    await hello.arrayBuffer();

    const source = mesh.sim.controllers[0]!.identity.privateIp;
    const started = await peer!.put('/keyset', { body: { token: 'tok', source } });
    expect(started.in_progress).toBe(true);
    const fetched = await waitKeyset(peer!);
    expect(fetched.checksum).toBe(rootKeyset.checksum);
    await waitLicensed(peer!);
    expect(disconnects).toBe(1);
    await watcher.destroy();
    expect(peerSim.licensed).toBe(true);
    const license = await peer!.get('/license');
    expect(license.finalized).toBe(true);
  });

  it('fast: the fetch ends on its own and the peer reboots at that moment (keyset and license after it)', async () => {
    const run = await followFetch({ profile: 'fast' });
    mesh = run.mesh;
    expect(run.seen).toEqual(['in progress', 'down', 'keyset']);
  });

  it('standard and realistic: keyset present, license not applied (`must be licensed`), then the reboot', async () => {
    for (const profile of ['standard', 'realistic'] as const) {
      // realistic's 10 s wait before the reboot, scaled down like everything else of the profile.
      const run = await followFetch({ profile, scale: profile === 'realistic' ? 0.02 : 1 });
      mesh = run.mesh;
      expect(run.seen).toEqual(['in progress', 'must be licensed', 'down', 'keyset']);
      await mesh.stop();
      mesh = undefined;
    }
  });

  it('rebootAfterFetch: false: the keyset and the license at once, no reboot', async () => {
    const run = await followFetch({ profile: 'fast', timings: { rebootAfterFetch: false } });
    mesh = run.mesh;
    expect(run.seen).toEqual(['in progress', 'keyset']);
    expect((await mesh.clients[1]!.get('/config')).licensed).toBe(true);
  });

  it('the fetch ends on its own clock: nobody asks, yet the peer reboots and comes back licensed', async () => {
    mesh = await startTestMesh({ controllers: 2, timings: { keysetFetchMs: 100 } });
    await licenseRoot(mesh);
    await mesh.clients[0]!.put('/keyset', { body: { token: 'tok' } });
    await waitKeyset(mesh.clients[0]!);
    const peerSim = mesh.sim.controllers[1]!;
    await mesh.clients[1]!.put('/keyset', { body: { token: 'tok', source: mesh.sim.controllers[0]!.identity.privateIp } });
    // Not one request to the peer while its fetch runs and ends.
    await waitFor('the peer licensed with no request to it', async () => peerSim.licensed, (l) => l, { timeoutMs: 5_000 });
    expect(peerSim.requestLog.filter((e) => e.path === '/api/keyset').map((e) => e.method)).toEqual(['PUT']);
  });

  it('the reboot a fetch owes never falls between `Keyset already exists.` and the next request', async () => {
    // The reboot is due 1 s after the fetch ends; a long outage would refuse a request that met it.
    mesh = await startTestMesh({ controllers: 2, timings: { keysetFetchMs: 30, fetchRebootDelayMs: 1_000, rebootOutageMs: 3_000 } });
    await licenseRoot(mesh);
    await mesh.clients[0]!.put('/keyset', { body: { token: 'tok' } });
    await waitKeyset(mesh.clients[0]!);
    const source = mesh.sim.controllers[0]!.identity.privateIp;
    const peer = mesh.sim.controllers[1]!.connect({ retry: false, timeoutMs: 1_000 });
    try {
      await peer.put('/keyset', { body: { token: 'tok', source } });
      const exists = await waitFor(
        'Keyset already exists.',
        () => apiErrorOf(peer.put('/keyset', { body: { token: 'tok', source } })),
        (e) => e.apiMessage === 'Keyset already exists.',
      );
      expect(exists.status).toBe(400);
      // Past the moment the reboot was due (and well before its fallback): the next GET still answers.
      await sleep(1_500);
      expect(await lookAtKeyset(peer)).toBe('must be licensed');
      // Then the reboot follows.
      expect(await lookAtKeyset(peer)).toBe('down');
    } finally {
      await peer.close();
    }
    await waitLicensed(mesh.clients[1]!);
  });

  it('a fetch that cannot succeed resets quietly; the next PUT gets a larger started_at_i', async () => {
    mesh = await startTestMesh({ controllers: 4, timings: { keysetFetchMs: 30 } });
    const [root, crashedPeer, cutPeer, lostPeer] = mesh.clients;
    await licenseRoot(mesh);
    await root!.put('/keyset', { body: { token: 'right' } });
    await waitKeyset(root!);
    const source = mesh.sim.controllers[0]!.identity.privateIp;

    // Wrong token, unknown address, and (below) crashed or partitioned source: each fails the same way.
    const attempts: [typeof root, string, string][] = [
      [lostPeer, 'right', '192.0.2.250'],
      [lostPeer, 'wrong', source],
    ];
    mesh.sim.partition(0, 2);
    attempts.push([cutPeer, 'right', source]);
    for (const [client, token, from] of attempts) {
      const first = await client!.put('/keyset', { body: { token, source: from } });
      expect(first.in_progress).toBe(true);
      const after = await waitFor('the failed fetch to settle', () => client!.get('/keyset'), (k) => k.in_progress === false);
      expect(after.keyset_present).toBe(false);
      const second = await client!.put('/keyset', { body: { token, source: from } });
      expect(second.started_at_i).toBeGreaterThan(first.started_at_i ?? Infinity);
      await waitFor('the second attempt to settle', () => client!.get('/keyset'), (k) => k.in_progress === false);
    }

    await mesh.sim.crash(0);
    const first = await crashedPeer!.put('/keyset', { body: { token: 'right', source } });
    await waitFor('the failed fetch to settle', () => crashedPeer!.get('/keyset'), (k) => k.in_progress === false);
    expect((await crashedPeer!.get('/keyset')).keyset_present).toBe(false);

    // Once the source is back and the path healed, the same peers fetch fine with a new attempt.
    await mesh.sim.restore(0);
    mesh.sim.heal(0, 2);
    const second = await crashedPeer!.put('/keyset', { body: { token: 'right', source } });
    expect(second.started_at_i).toBeGreaterThan(first.started_at_i ?? Infinity);
    const done = await waitKeyset(crashedPeer!);
    expect(done.checksum).toBe((await root!.get('/keyset')).checksum);
    for (const c of [crashedPeer, cutPeer, lostPeer]) expect((await c!.get('/keyset')).in_progress).toBe(false);
  });
});
