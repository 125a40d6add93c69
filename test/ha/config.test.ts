import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHaConfig, parseHaConfig, redactHaConfig, Vns3HaConfigError, type HaConfig } from '../../src/ha/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vns3-ha-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const secondaryEnv = {
  HAENV_MODE: 'secondary',
  HAENV_CLOUD: 'aws',
  HAENV_PEER_PUBLIC_IP: '203.0.113.10',
  HAENV_MY_UNDERLAY_IP: '10.0.2.10',
  HAENV_PEER_UNDERLAY_IP: '10.0.1.10',
  HAENV_PEER_OVERLAY_IP: '100.127.255.253',
  HAENV_MY_API_PASSWORD: 'mySecretPw1',
  HAENV_PEER_API_PASSWORD: 'peerSecretPw2',
};

function problemsOf(fn: () => unknown): Vns3HaConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Vns3HaConfigError);
    return e as Vns3HaConfigError;
  }
  throw new Error('expected Vns3HaConfigError');
}
async function problemsOfAsync(p: Promise<unknown>): Promise<Vns3HaConfigError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(Vns3HaConfigError);
  return e as Vns3HaConfigError;
}

describe('parseHaConfig', () => {
  it('applies the documented and our own defaults for a primary', () => {
    const cfg = parseHaConfig({ mode: 'primary', cloud: 'azure', peer_public_ip: '198.51.100.7' });
    expect(cfg).toEqual<HaConfig>({
      mode: 'primary',
      cloud: 'azure',
      peerPublicIp: '198.51.100.7',
      sleepTimeS: 15,
      logLevel: 'info',
      checkIntervalMs: 15_000,
      fall: 3,
      rise: 3,
      preempt: true,
      preemptDelayMs: 0,
      priority: 100,
      standbys: [],
      observers: [],
      dryRun: false,
      cloudVeto: true,
      apiPort: 8000,
      peerPublicApiUrl: 'https://198.51.100.7:8000',
      insecure: false,
      awsRouteTableTags: {},
      azureRouteTableTags: {},
      metricsHost: '127.0.0.1',
      warnings: [],
    });
  });

  it('requires what each mode lists, naming the variable both ways', () => {
    const err = problemsOf(() => parseHaConfig({ mode: 'secondary', cloud: 'overlay', peer_public_ip: '203.0.113.10' }));
    expect(err.problems.map((p) => p.key)).toEqual(['my_underlay_ip', 'peer_underlay_ip', 'peer_overlay_ip', 'my_api_password', 'peer_api_password']);
    expect(err.message).toContain('peer_overlay_ip (HAENV_PEER_OVERLAY_IP): is required in secondary mode');
    expect(err.message).toMatch(/^Invalid HA configuration \(5 problems\):/);

    const none = problemsOf(() => parseHaConfig({}));
    expect(none.problems.map((p) => p.key)).toEqual(['mode', 'cloud', 'peer_public_ip']);
  });

  it('collects every bad value at once, showing values but never passwords', () => {
    const err = problemsOf(() =>
      parseHaConfig({
        mode: 'primary',
        cloud: 'overlay',
        peer_public_ip: '203.0.113.300',
        sleep_time: 'soon',
        log_level: 'verbose',
        fall: 0,
        api_port: 70000,
        preempt: 'maybe',
        my_api_password: ['not', 'a', 'string-hunter2'],
        peer_fingerprint256: 'AB:CD',
        my_api_url: 'ftp://10.0.0.1',
      }),
    );
    const byKey = Object.fromEntries(err.problems.map((p) => [p.key, p]));
    expect(Object.keys(byKey).sort()).toEqual(
      ['api_port', 'cloud', 'fall', 'log_level', 'my_api_password', 'my_api_url', 'peer_fingerprint256', 'peer_public_ip', 'preempt', 'sleep_time'].sort(),
    );
    expect(byKey['cloud']!.reason).toBe('must be one of aws, azure');
    expect(err.message).toContain('peer_public_ip (HAENV_PEER_PUBLIC_IP) = "203.0.113.300": must be an IP address');
    expect(err.message).toContain('sleep_time (HAENV_SLEEP_TIME) = "soon"');
    expect(err.message).toContain('my_api_password (HAENV_MY_API_PASSWORD) = [redacted]');
    expect(err.message).not.toContain('hunter2');
  });

  it('allows overlay only for a secondary', () => {
    const cfg = parseHaConfig(Object.fromEntries(Object.entries(secondaryEnv).map(([k, v]) => [k.slice(6).toLowerCase(), v === 'aws' ? 'overlay' : v])));
    expect(cfg.cloud).toBe('overlay');
    expect(cfg.myApiUrl).toBe('https://10.0.2.10:8000');
    expect(cfg.peerApiUrl).toBe('https://10.0.1.10:8000');
  });

  it('parses standbys, with per-entry problems named by path', () => {
    const cfg = parseHaConfig({
      mode: 'primary',
      cloud: 'aws',
      peer_public_ip: '203.0.113.10',
      api_port: 8443,
      standbys: [
        { name: 'b', underlay_ip: '10.0.3.10', priority: 50, api_password: 'pw' },
        { name: 'c', underlay_ip: '10.0.4.10', public_ip: '203.0.113.11', priority: 40, api_url: 'https://127.0.0.1:1234/' },
      ],
    });
    expect(cfg.standbys).toEqual([
      { name: 'b', underlayIp: '10.0.3.10', priority: 50, apiUrl: 'https://10.0.3.10:8443', apiPassword: 'pw' },
      { name: 'c', underlayIp: '10.0.4.10', publicIp: '203.0.113.11', priority: 40, apiUrl: 'https://127.0.0.1:1234' },
    ]);
    const err = problemsOf(() =>
      parseHaConfig({
        mode: 'primary',
        cloud: 'aws',
        peer_public_ip: '203.0.113.10',
        standbys: [{ name: 'b', underlay_ip: 'nope', api_password: 'topsecret' }, 'x', { name: 'b', underlay_ip: '10.0.0.1', priority: 1, colour: 'red' }],
      }),
    );
    expect(err.problems.map((p) => p.key)).toEqual([
      'standbys[0].underlay_ip',
      'standbys[0].priority',
      'standbys[1]',
      'standbys[2].colour',
    ]);
    expect(err.problems[0]!.envName).toBe('HAENV_STANDBYS');
    expect(err.message).not.toContain('topsecret');
  });

  it('warns about unknown keys without failing, and accepts camelCase keys', () => {
    const cfg = parseHaConfig({ mode: 'primary', cloud: 'aws', peerPublicIp: '203.0.113.10', sleep_tim: 3, dryRun: true });
    expect(cfg.peerPublicIp).toBe('203.0.113.10');
    expect(cfg.dryRun).toBe(true);
    expect(cfg.warnings).toEqual(['unknown HA setting sleep_tim ignored; did you mean sleep_time?']);
  });

  it('normalizes fingerprints and warns when TLS verification is off', () => {
    const hex = 'ab'.repeat(32);
    const cfg = parseHaConfig({ mode: 'primary', cloud: 'aws', peer_public_ip: '203.0.113.10', peer_fingerprint256: hex, insecure: 'yes' });
    expect(cfg.peerFingerprint256).toBe(Array(32).fill('AB').join(':'));
    expect(cfg.insecure).toBe(true);
    expect(cfg.warnings.join('\n')).toMatch(/insecure/);
  });
});

describe('loadHaConfig', () => {
  it('reads the plugin document example file (duplicate sleep_time) with env winning over the file', async () => {
    const file = join(dir, 'vars.yml');
    await writeFile(
      file,
      [
        'mode: secondary',
        'cloud: aws',
        'sleep_time: 15',
        'my_api_password: mysecret',
        'peer_api_password: mysecret',
        'sleep_time: 20',
        'log_level: debug',
        'aws_route_table_tags:',
        '  env: prod',
        '  tier: 1',
      ].join('\n'),
    );
    const cfg = await loadHaConfig({
      file,
      env: {
        PATH: '/usr/bin',
        HAENV_PEER_PUBLIC_IP: '203.0.113.10',
        HAENV_MY_UNDERLAY_IP: '10.0.2.10',
        HAENV_PEER_UNDERLAY_IP: '10.0.1.10',
        HAENV_PEER_OVERLAY_IP: '100.127.255.253',
        HAENV_PEER_API_PASSWORD: 'fromenv',
        HAENV_LOG_LEVEL: '',
        HAENV_CHECK_INTERVAL: '0.5',
        HAENV_PREEMPT: 'no',
        HAENV_PEER_API_URL: 'https://127.0.0.1:48001',
      },
    });
    expect(cfg).toMatchObject({
      mode: 'secondary',
      cloud: 'aws',
      sleepTimeS: 20,
      logLevel: 'debug',
      myApiPassword: 'mysecret',
      peerApiPassword: 'fromenv',
      checkIntervalMs: 500,
      preempt: false,
      peerApiUrl: 'https://127.0.0.1:48001',
      myApiUrl: 'https://10.0.2.10:8000',
      awsRouteTableTags: { env: 'prod', tier: '1' },
      warnings: [],
    });
  });

  it('works from the environment alone when the default file is absent', async () => {
    const cfg = await loadHaConfig({
      env: {
        ...secondaryEnv,
        HAENV_AWS_ROUTE_TABLE_TAGS: 'env=prod, role=vns3',
        HAENV_AZURE_ROUTE_TABLE_TAGS: '{"env": "dev"}',
        HAENV_STANDBYS: '[{"name":"c","underlay_ip":"10.0.4.10","priority":10}]',
        HAENV_FALL: '2',
        HAENV_DRY_RUN: '1',
        HAENV_COLOUR: 'blue',
      },
    });
    expect(cfg.awsRouteTableTags).toEqual({ env: 'prod', role: 'vns3' });
    expect(cfg.azureRouteTableTags).toEqual({ env: 'dev' });
    expect(cfg.standbys).toEqual([{ name: 'c', underlayIp: '10.0.4.10', priority: 10, apiUrl: 'https://10.0.4.10:8000' }]);
    expect(cfg.fall).toBe(2);
    expect(cfg.dryRun).toBe(true);
    expect(cfg.warnings).toEqual(['unknown HA setting colour (from HAENV_COLOUR) ignored']);
  });

  it('names the origin of a bad value and lets overrides win', async () => {
    const err = await problemsOfAsync(loadHaConfig({ file: null, env: { ...secondaryEnv, HAENV_RISE: 'x' }, overrides: { peer_overlay_ip: 'bad' } }));
    expect(err.message).toContain('rise (HAENV_RISE) = "x": must be a whole number, at least 1 [from HAENV_RISE]');
    expect(err.message).toContain('peer_overlay_ip (HAENV_PEER_OVERLAY_IP) = "bad": must be an IPv4 address [from overrides]');
    const cfg = await loadHaConfig({ file: null, env: secondaryEnv, overrides: { sleepTime: 1 } });
    expect(cfg.sleepTimeS).toBe(1);
    expect(cfg.checkIntervalMs).toBe(1000);
  });

  it('fails for a given file that is missing, not valid YAML, or not a map; never echoing its content', async () => {
    const missing = await problemsOfAsync(loadHaConfig({ file: join(dir, 'nope.yml'), env: secondaryEnv }));
    expect(missing.message).toMatch(/nope\.yml.*cannot be read \(ENOENT\)/);

    const broken = join(dir, 'broken.yml');
    await writeFile(broken, 'mode: secondary\nmy_api_password: "unterminated-hunter2\n');
    const bad = await problemsOfAsync(loadHaConfig({ file: broken, env: {} }));
    expect(bad.message).toMatch(/not valid YAML/);
    expect(bad.message).not.toContain('hunter2');

    const list = join(dir, 'list.yml');
    await writeFile(list, '- mode\n- cloud\n');
    expect((await problemsOfAsync(loadHaConfig({ file: list, env: {} }))).message).toMatch(/must be a YAML map/);
  });

  it('reports missing variables when neither file nor env supplies them', async () => {
    const empty = join(dir, 'empty.yml');
    await writeFile(empty, '# nothing here yet\n\n');
    const err = await problemsOfAsync(loadHaConfig({ file: empty, env: { HAENV_MODE: 'secondary' } }));
    expect(err.problems.length).toBe(7);
    expect(err.message).toContain('my_api_password (HAENV_MY_API_PASSWORD): is required in secondary mode');
  });

  it('checks that CA files exist', async () => {
    const ca = join(dir, 'ca.pem');
    await writeFile(ca, 'not really a cert');
    const ok = await loadHaConfig({ file: null, env: { ...secondaryEnv, HAENV_CA_FILE: ca } });
    expect(ok.caFile).toBe(ca);
    const err = await problemsOfAsync(loadHaConfig({ file: null, env: { ...secondaryEnv, HAENV_AZURE_CA_FILE: join(dir, 'none.pem') } }));
    expect(err.problems[0]).toMatchObject({ key: 'azure_ca_file', origin: 'HAENV_AZURE_CA_FILE' });
  });
});

describe('redactHaConfig', () => {
  it('hides every password and leaves the original untouched', async () => {
    const cfg = await loadHaConfig({
      file: null,
      env: { ...secondaryEnv, HAENV_STANDBYS: '[{"name":"c","underlay_ip":"10.0.4.10","priority":10,"api_password":"sb-pw"}]' },
    });
    const text = JSON.stringify(redactHaConfig(cfg));
    for (const secret of ['mySecretPw1', 'peerSecretPw2', 'sb-pw']) expect(text).not.toContain(secret);
    expect(cfg.myApiPassword).toBe('mySecretPw1');
    expect(cfg.standbys[0]!.apiPassword).toBe('sb-pw');
  });
});

describe('cloud_veto', () => {
  it('defaults to on and can be turned off from the environment', async () => {
    const base = { HAENV_MODE: 'primary', HAENV_CLOUD: 'aws', HAENV_PEER_PUBLIC_IP: '198.51.100.7' };
    expect((await loadHaConfig({ file: null, env: base })).cloudVeto).toBe(true);
    const off = await loadHaConfig({ file: null, env: { ...base, HAENV_CLOUD_VETO: 'false' } });
    expect(off.cloudVeto).toBe(false);
    expect(off.warnings.join(' ')).not.toContain('cloud_veto');
  });
});
