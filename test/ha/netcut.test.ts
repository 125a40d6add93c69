import { createServer, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../src/testing/netcut.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => s.end(text));
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(5_000, () => s.destroy(new Error('socket timeout')));
  });
}

describe('netcut TCP proxy', () => {
  it('forwards, refuses while cut, and forwards again after restore', async () => {
    const echo = createServer((s) => s.on('data', (d) => s.end(`echo:${d}`)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => echo.close(() => r())));
    const proxy: TcpProxy = await startTcpProxy({ targetPort: (echo.address() as { port: number }).port });
    cleanups.push(() => proxy.stop());

    expect(await exchange(proxy.port, 'a')).toBe('echo:a');
    proxy.cut();
    expect(proxy.isCut).toBe(true);
    await expect(exchange(proxy.port, 'b')).rejects.toThrow(/ECONNRESET|socket hang up|closed/i);
    proxy.restore();
    expect(await exchange(proxy.port, 'c')).toBe('echo:c');
    expect(proxy.connections).toBe(3);
  });
});
