import { describe, expect, expectTypeOf, it } from 'vitest';
import { createClient, type Vns3Client } from '../../src/client/index.js';
import type { components } from '../../src/generated/vns3.js';

/**
 * Compile-time contract of the typed methods: `tsc --noEmit` fails if a
 * `@ts-expect-error` line stops being an error. The function is never called.
 */
function typeContract(client: Vns3Client): void {
  void client.post('/routes', { body: { cidr: '10.0.0.0/24' } });
  // @ts-expect-error cidr must be a string
  void client.post('/routes', { body: { cidr: 42 } });
  // @ts-expect-error the body is required
  void client.post('/routes');
  // @ts-expect-error no such path
  void client.get('/no/such/path');
  // @ts-expect-error path params are required
  void client.delete('/routes/{route_id}');
  void client.put('/license', { body: 'license text' });
  // @ts-expect-error the license is text, not JSON
  void client.put('/license', { body: { license: 'x' } });
  void client.get('/config', { signal: AbortSignal.timeout(1), timeoutMs: 5, retry: false });
  void client.post('/routes', { body: { cidr: '10.0.0.0/24' }, retry: true });
}

describe('typed methods', () => {
  it('unwrap the response envelope in their result type', () => {
    const client = createClient({ host: '127.0.0.1:1', password: 'x' });
    expectTypeOf<Awaited<ReturnType<typeof client.get<'/config'>>>>().toEqualTypeOf<components['schemas']['Config']>();
    expect(typeof typeContract).toBe('function');
    expect(client.host).toBe('127.0.0.1:1');
    return client.close();
  });
});
