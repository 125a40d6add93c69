import { describe, expect, it } from 'vitest';
import { debugEnabled, emit, type Vns3Logger } from '../../src/events.js';
import { createEventPrinter } from '../../src/index.js';
import { sleep } from '../../src/abort.js';

describe('events to loggers and printers', () => {
  it('sends an event to a pino-style logger at its level, detail as the message', () => {
    const calls: [string, Record<string, unknown>, string | undefined][] = [];
    const record = (level: string) => (object: Record<string, unknown>, message?: string) => void calls.push([level, object, message]);
    const logger: Vns3Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
    emit(logger, { controller: 'h:1', step: 'keyset.wait', detail: 'keyset present', data: { checksum: 'x' } });
    emit(logger, { controller: '*', step: 'bulk', level: 'debug', detail: '4 of 4 succeeded' });
    expect(calls).toEqual([
      ['info', { controller: 'h:1', step: 'keyset.wait', data: { checksum: 'x' } }, 'keyset present'],
      ['debug', { controller: '*', step: 'bulk' }, '4 of 4 succeeded'],
    ]);
  });

  it('reads DEBUG as the debug package does', () => {
    expect(debugEnabled({ DEBUG: 'vns3' })).toBe(true);
    expect(debugEnabled({ DEBUG: 'express,vns3:*' })).toBe(true);
    expect(debugEnabled({ DEBUG: '*,-vns3' })).toBe(false);
    expect(debugEnabled({ DEBUG: 'express' })).toBe(false);
    expect(debugEnabled({})).toBe(false);
  });

  it('prints info lines with elapsed time, hides debug unless asked, and beats during a silent wait', async () => {
    const lines: string[] = [];
    const printer = createEventPrinter({ write: (l) => lines.push(l), heartbeatMs: 100, debug: false });
    try {
      printer.onEvent({ controller: 'h:1', step: 'reboot.wait', detail: 'waiting for the reboot to start' });
      printer.onEvent({ controller: 'h:1', step: 'reboot.wait', level: 'debug', detail: 'poll 1' });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^\+ +\d+\.\ds {2}h:1 +reboot\.wait +waiting for the reboot to start$/);
      for (let i = 0; i < 50 && lines.length < 2; i++) await sleep(50);
      expect(lines[1]).toMatch(/reboot\.wait +… still at it \(\d+ s in this step\)$/);
    } finally {
      printer.stop();
    }
  });
});
