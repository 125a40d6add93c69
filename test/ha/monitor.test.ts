import { describe, expect, it } from 'vitest';
import { HealthTracker, judge, type WitnessReport } from '../../src/ha/monitor.js';

const w = (name: WitnessReport['name'], result: WitnessReport['result'], instanceState?: WitnessReport['instanceState']): WitnessReport => ({
  name,
  result,
  durationMs: 1,
  ...(instanceState ? { instanceState } : {}),
});

describe('witness rule', () => {
  it('calls the primary down only when every answering network witness agrees', () => {
    expect(judge([w('underlay', 'down'), w('public', 'down'), w('mesh', 'down')], { cloudVeto: true })).toBe('down');
    expect(judge([w('underlay', 'down'), w('public', 'down'), w('mesh', 'unknown')], { cloudVeto: true })).toBe('down');
    expect(judge([w('underlay', 'down'), w('public', 'up'), w('mesh', 'down')], { cloudVeto: true })).toBe('split');
    expect(judge([w('underlay', 'up'), w('public', 'up'), w('mesh', 'unknown')], { cloudVeto: true })).toBe('up');
    // One witness alone is not enough, unless the cloud confirms.
    expect(judge([w('underlay', 'down'), w('public', 'unknown'), w('mesh', 'unknown')], { cloudVeto: true })).toBe('unknown');
    expect(judge([w('underlay', 'down'), w('public', 'unknown'), w('cloud', 'down', 'stopped')], { cloudVeto: true })).toBe('down');
    // The cloud never decides alone.
    expect(judge([w('underlay', 'unknown'), w('cloud', 'down', 'terminated')], { cloudVeto: true })).toBe('unknown');
  });

  it('lets a running VM veto a failover only with cloud_veto', () => {
    const all = [w('underlay', 'down'), w('public', 'down'), w('mesh', 'down'), w('cloud', 'up', 'running')];
    expect(judge(all, { cloudVeto: true })).toBe('vetoed');
    expect(judge(all, { cloudVeto: false })).toBe('down');
    expect(judge([...all.slice(0, 3), w('cloud', 'down', 'deallocated')], { cloudVeto: true })).toBe('down');
  });
});

describe('HealthTracker', () => {
  it('needs fall consecutive downs and rise consecutive ups; anything else breaks the run', () => {
    const t = new HealthTracker(3, 2);
    expect(t.observe('up')).toEqual({ from: 'unknown', to: 'healthy' });
    expect(t.observe('down')).toBeUndefined();
    expect(t.observe('down')).toBeUndefined();
    expect(t.observe('split')).toBeUndefined();
    expect(t.observe('down')).toBeUndefined();
    expect(t.observe('down')).toBeUndefined();
    expect(t.observe('down')).toEqual({ from: 'healthy', to: 'failed' });
    expect(t.observe('up')).toBeUndefined();
    expect(t.observe('vetoed')).toBeUndefined();
    expect(t.observe('up')).toBeUndefined();
    expect(t.observe('up')).toEqual({ from: 'failed', to: 'healthy' });
    expect(t.state).toBe('healthy');
  });
});
