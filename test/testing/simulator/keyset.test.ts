import { Client, fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestMesh, type TestMesh } from '../../../src/testing/index.js';
import { apiErrorOf, licenseRoot, waitFor, waitKeyset, waitLicensed } from './steps.js';

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
