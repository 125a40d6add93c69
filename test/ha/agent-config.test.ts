import { describe, expect, it } from 'vitest';
import { createHaAgent, createOverlayRouteProvider, parseHaConfig, Vns3HaConfigError } from '../../src/ha/index.js';
import { startHaBed, type HaBed } from '../../src/testing/index.js';
import { stopAfterEach } from './lifecycle.js';

const base = {
  mode: 'secondary',
  cloud: 'aws',
  peer_public_ip: '198.51.100.1',
  my_underlay_ip: '10.0.2.10',
  peer_underlay_ip: '10.0.1.10',
  peer_overlay_ip: '100.127.255.250',
  my_api_password: 'sekret-mine',
  peer_api_password: 'sekret-peer',
};

let bed: HaBed;
const track = stopAfterEach();

describe('HA agent configuration errors', () => {
  it('lists every problem at once, by the name the operator writes, without secrets', () => {
    const cfg = parseHaConfig({ ...base, standbys: [{ name: 'self', underlay_ip: '10.0.2.10', priority: 5 }] });
    let err: unknown;
    try {
      createHaAgent(cfg, { env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Vns3HaConfigError);
    const problems = (err as Vns3HaConfigError).problems.map((p) => p.key);
    expect(problems).toEqual(['standbys', 'aws_region']);
    expect((err as Error).message).toMatch(/aws_region \(HAENV_AWS_REGION\): is required with cloud: aws/);
    expect((err as Error).message).not.toMatch(/sekret/);
  });

  it('requires a way for a primary to find itself', () => {
    const cfg = parseHaConfig({ mode: 'primary', cloud: 'azure', peer_public_ip: '198.51.100.2' });
    expect(() => createHaAgent(cfg, { env: {} })).toThrow(/my_underlay_ip \(HAENV_MY_UNDERLAY_IP\).*\n.*azure_subscription_id/s);
  });

  it('runs with a given provider and needs no cloud settings then; stop() ends the loop', async () => {
    bed = track.bed(await startHaBed({ controllers: 2, cloud: 'overlay' }));
    const cfg = { ...bed.standbyConfig(1, { check_interval: 0.05 }), cloud: 'aws' as const };
    const agent = createHaAgent(cfg, { ...bed.deps(), provider: createOverlayRouteProvider() });
    track.agents(agent);
    await agent.start();
    const until = Date.now() + 10_000;
    while (agent.status().counters.checks < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(agent.status().counters.checks).toBeGreaterThanOrEqual(3);
    expect(agent.status().running).toBe(true);
    await agent.stop();
    const checks = agent.status().counters.checks;
    await new Promise((r) => setTimeout(r, 150));
    expect(agent.status().counters.checks).toBe(checks);
    expect(agent.status()).toMatchObject({ running: false, role: 'stopped' });
    await expect(agent.checkOnce()).rejects.toThrow(/stopped/);
  });
});
