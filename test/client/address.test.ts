import { describe, expect, it } from 'vitest';
import {
  createClient,
  normalizeFingerprint,
  parseControllerAddress,
  Vns3ValidationError,
} from '../../src/client/index.js';

describe('controller addresses', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5:8000', 'https://10.0.0.5:8000/api'],
    ['10.0.0.5:8443', '10.0.0.5:8443', 'https://10.0.0.5:8443/api'],
    ['vns3.example.com', 'vns3.example.com:8000', 'https://vns3.example.com:8000/api'],
    ['https://10.0.0.5', '10.0.0.5:8000', 'https://10.0.0.5:8000/api'],
    ['https://10.0.0.5:443/', '10.0.0.5:443', 'https://10.0.0.5:443/api'],
    ['https://10.0.0.5:8000/api', '10.0.0.5:8000', 'https://10.0.0.5:8000/api'],
    ['https://gw.example.com:9000/vns3/api/', 'gw.example.com:9000', 'https://gw.example.com:9000/vns3/api'],
    ['http://127.0.0.1:9999', '127.0.0.1:9999', 'http://127.0.0.1:9999/api'],
    ['[::1]:8443', '[::1]:8443', 'https://[::1]:8443/api'],
    ['fd00::5', '[fd00::5]:8000', 'https://[fd00::5]:8000/api'],
  ])('%s -> %s', (input, host, baseUrl) => {
    const address = parseControllerAddress(input);
    expect(address.host).toBe(host);
    expect(address.baseUrl).toBe(baseUrl);
  });

  it.each(['', 'ftp://10.0.0.5', '10.0.0.5:99999', 'https://user:pw@10.0.0.5', '10.0.0.5:80/api?x=1'])(
    'rejects %j with a validation error naming the field',
    (input) => {
      const err = (() => {
        try {
          parseControllerAddress(input);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(Vns3ValidationError);
      expect((err as Vns3ValidationError).field).toBe('host');
    },
  );
});

describe('fingerprints and options', () => {
  const hex = 'ab'.repeat(32);
  it('normalizes plain and colon hex to upper-case colon form', () => {
    const expected = Array(32).fill('AB').join(':');
    expect(normalizeFingerprint(hex)).toBe(expected);
    expect(normalizeFingerprint(expected.toLowerCase())).toBe(expected);
  });

  it('rejects a fingerprint of the wrong length before any request', () => {
    expect(() => createClient({ host: '127.0.0.1:1', fingerprint256: 'AB:CD' })).toThrow(Vns3ValidationError);
  });

  it('refuses a pin or CA on a plain-http address, where it could not be checked', () => {
    expect(() => createClient({ host: 'http://127.0.0.1:1', fingerprint256: hex })).toThrow(/https/);
  });

  it('formats validation messages with field, value, reason and controller', () => {
    const err = new Vns3ValidationError('peer_id', 0, 'must be an integer from 1 to 16', { controller: '127.0.0.1:8443' });
    expect(err.message).toBe('Invalid peer_id: 0 (must be an integer from 1 to 16) [controller 127.0.0.1:8443]');
    expect(err.name).toBe('Vns3ValidationError');
    expect(err.controller).toBe('127.0.0.1:8443');
    expect(err.value).toBe(0);
  });
});
