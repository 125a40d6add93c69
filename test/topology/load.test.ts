import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTopology, Vns3TopologyError, type Topology } from '../../src/topology/index.js';
import { tempDir } from './helpers.js';

const HOSTS = ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000'];
const SUBNETS = ['10.1.1.0/24', '10.2.1.0/24', '10.3.1.0/24'];
const ENV = { KEYSET_TOKEN: 'keyset-token-secret' };

async function problemsOf(load: Promise<Topology>): Promise<string[]> {
  const error = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Vns3TopologyError);
  return (error as Vns3TopologyError).problems.map((p) => `${p.line ?? '-'}:${p.column ?? '-'} ${p.field}: ${p.message}`);
}

describe('loadTopology', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let license: string;

  beforeAll(async () => {
    tmp = await tempDir();
    license = await tmp.file('license.txt', 'LICENSE-TEXT-SECRET\n');
  });
  afterAll(() => tmp.cleanup());

  const good = (extra = ''): string =>
    [
      'version: 1',
      'name: lab',
      `license: { file: ${license} }`,
      'keyset: { token: "${env.KEYSET_TOKEN}" }',
      'defaults: { password: pw-common-secret }',
      'controllers:',
      ...HOSTS.map((h, i) => `  - { name: c${i + 1}, host: "${h}", subnet: ${SUBNETS[i]} }`),
      extra,
    ].join('\n');

  it('reads a good file: defaults, ids by position, a full mesh, secrets that never print', async () => {
    const t = await loadTopology(await tmp.file('good.yaml', good()), { env: ENV });
    expect(t.controllers.map((c) => [c.name, c.peerId, c.subnet])).toEqual([
      ['c1', 1, SUBNETS[0]],
      ['c2', 2, SUBNETS[1]],
      ['c3', 3, SUBNETS[2]],
    ]);
    expect(t.root).toBe('c1');
    expect(t.peering.links).toEqual([['c1', 'c2'], ['c1', 'c3'], ['c2', 'c3']]);
    expect(t.license.text.reveal()).toBe('LICENSE-TEXT-SECRET\n');
    expect(t.keysetToken.reveal()).toBe(ENV.KEYSET_TOKEN);
    const shown = `${inspect(t, { depth: 10 })}${JSON.stringify(t)}${String(t.controllers[0]!.connection.password)}`;
    for (const secret of ['LICENSE-TEXT-SECRET', ENV.KEYSET_TOKEN, 'pw-common-secret']) expect(shown).not.toContain(secret);
    expect(t.secrets).toEqual(expect.arrayContaining(['pw-common-secret', ENV.KEYSET_TOKEN]));
  });

  it('names file, line, column and field for schema errors — every one, not only the first', async () => {
    const file = await tmp.file('bad.yaml', good('peering:\n  mesh: full\n  adress: private\n  mtu: 20\n').replace('subnet: 10.2.1.0/24', 'subnet: 10.2.1.0/24, port: 9'));
    const problems = await problemsOf(loadTopology(file, { env: ENV }));
    expect(problems).toEqual([
      '8:61 controllers[1].port: unknown field "port"',
      '12:3 peering.adress: unknown field "adress"',
      '13:8 peering.mtu: has none of the allowed forms (Overlay MTU of every link: a whole number from 500 to 4800.)',
    ]);
  });

  it('names a missing required field at its parent, and a YAML syntax error at its place', async () => {
    const missing = await problemsOf(loadTopology(await tmp.file('missing.yaml', good().replace(', subnet: 10.3.1.0/24', '')), { env: ENV }));
    expect(missing).toEqual(['9:5 controllers[2]: missing required field "subnet"']);
    const syntax = await problemsOf(loadTopology(await tmp.file('syntax.yaml', 'version: 1\ncontrollers: [\n  a: b\n'), { env: ENV }));
    expect(syntax).toHaveLength(1);
    expect(syntax[0]).toMatch(/^\d+:\d+ : not valid YAML/);
  });

  it('checks names against each other: root, duplicates, peering map, HA pairs', async () => {
    const extra = ['root: nope', 'peering:', '  mesh: { c1: [c2, c9], c2: [c2] }', 'ha:', '  - { primary: c1, secondary: c1, cloud: overlay, image: { name: ha, url: "https://example.com/ha.tar" } }'].join('\n');
    const problems = await problemsOf(loadTopology(await tmp.file('names.yaml', good(extra).replace('name: c3', 'name: c2')), { env: ENV }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^9:\d+ controllers\[2\]\.name: "c2" is already the name of controllers\[1\]/),
        expect.stringMatching(/^10:7 root: "nope" is not a controller/),
        expect.stringMatching(/peering\.mesh\.c1\[1\]: "c9" is not a controller/),
        expect.stringMatching(/peering\.mesh\.c2\[0\]: a controller does not peer with itself/),
        expect.stringMatching(/ha\[0\]\.secondary: must be another controller than the primary/),
      ]),
    );
  });

  it('takes variables from a terraform output -json file, VNS3_VAR_ and defaults; sensitive outputs become secrets', async () => {
    const tf = await tmp.file(
      'tf.json',
      JSON.stringify({
        hosts: { value: HOSTS, type: ['list', 'string'], sensitive: false },
        passwords: { value: ['tf-pw-1-secret', 'tf-pw-2-secret', 'tf-pw-3-secret'], type: ['list', 'string'], sensitive: true },
      }),
    );
    const text = [
      'version: 1',
      'variables: { mtu: { default: 1400 } }',
      `license: { file: ${license} }`,
      'keyset: { token: { env: KEYSET_TOKEN } }',
      'peering: { mtu: "${var.mtu}" }',
      'controllers:',
      ...HOSTS.map((_, i) => `  - { name: "c\${var.prefix}${i}", host: "\${var.hosts[${i}]}", password: "\${var.passwords[${i}]}", subnet: ${SUBNETS[i]} }`),
    ].join('\n');
    const t = await loadTopology(await tmp.file('tf.yaml', text), { varFiles: [tf], env: { ...ENV, VNS3_VAR_prefix: 'x' } });
    expect(t.controllers.map((c) => [c.name, c.host, c.connection.password?.reveal()])).toEqual([
      ['cx0', HOSTS[0], 'tf-pw-1-secret'],
      ['cx1', HOSTS[1], 'tf-pw-2-secret'],
      ['cx2', HOSTS[2], 'tf-pw-3-secret'],
    ]);
    expect(t.peering.mtu).toBe(1400);
    expect(t.secrets).toEqual(expect.arrayContaining(['tf-pw-1-secret', 'tf-pw-3-secret']));
  });

  it('names every variable that has no value, where it is used, and never how the value would look', async () => {
    const text = good().replace('"10.0.0.2:8000"', '"${var.second}"').replace('"10.0.0.3:8000"', '"${var.hosts[7]}"').replace('${env.KEYSET_TOKEN}', '${env.NO_SUCH_TOKEN}');
    const vars = await tmp.file('vars.json', JSON.stringify({ hosts: ['a'] }));
    const problems = await problemsOf(loadTopology(await tmp.file('vars.yaml', text), { varFiles: [vars], env: ENV }));
    expect(problems).toEqual([
      '4:19 keyset.token: environment variable NO_SUCH_TOKEN is not set',
      expect.stringMatching(/^8:\d+ controllers\[1\]\.host: variable "second" has no value: pass it in a --var-file, set VNS3_VAR_second/),
      expect.stringMatching(/^9:\d+ controllers\[2\]\.host: variable "hosts" \(from .*vars\.json\) has no hosts\[7\]/),
    ]);
  });

  it('reads secrets from files and environment variables; an unreadable secret file is named without its path', async () => {
    const pw = await tmp.file('pw.txt', 'file-password-secret\n');
    const text = good().replace('defaults: { password: pw-common-secret }', `defaults: { password: { file: pw.txt }, apiToken: { env: API_TOKEN } }`);
    const t = await loadTopology(await tmp.file('secret-files.yaml', text), { env: { ...ENV, API_TOKEN: 'token-from-env' } });
    expect(t.controllers[2]!.connection.password?.reveal()).toBe('file-password-secret');
    expect(t.controllers[2]!.connection.apiToken?.reveal()).toBe('token-from-env');
    expect(pw).toContain(tmp.dir);
    const broken = await problemsOf(loadTopology(await tmp.file('secret-missing.yaml', text.replace('pw.txt', 'no-such-secret-file')), { env: { ...ENV, API_TOKEN: 'x' } }));
    expect(broken).toEqual(["5:23 defaults.password: the secret's file cannot be read (ENOENT)"]);
  });

});
