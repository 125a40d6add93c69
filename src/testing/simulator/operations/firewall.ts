import { randomBytes } from 'node:crypto';
import { badRequest } from '../errors.js';
import { checkRule, normalizeRuleText } from '../firewall-state.js';
import type { OperationTable } from './types.js';

/**
 * Firewall v1: positional rules on the VNS3 chains. On this (6.x) controller it is a view of the
 * one rule list the v2 API edits (firewall-state.ts): the enabled rules, as the OS enforces them.
 * Subgroups and v1 fwsets are not simulated (their v2 successors, subtables and fwsets, are).
 */

function positionParam(raw: unknown, length: number, allowAppend: boolean): number {
  const position = typeof raw === 'string' ? Number(raw) : (raw as number);
  if (allowAppend && (position === -1 || raw === undefined)) return length;
  const max = allowAppend ? length : length - 1;
  if (!Number.isInteger(position) || position < 0 || position > max) {
    throw badRequest(`Invalid position: ${String(raw)} (there are ${length} rules).`);
  }
  return position;
}

/** A task token like a controller's: a long string of digits. */
const taskToken = (): string => BigInt(`0x${randomBytes(24).toString('hex')}`).toString();

/** The only firewall action the reference names. */
export function firewallAction(body: unknown): { status: string } {
  const action = (body as { action: string }).action;
  if (action !== 'reset_connection_tracking') throw badRequest(`Invalid action: ${action}`);
  return { status: 'ok' };
}

export const firewallOperations: OperationTable = {
  'GET /firewall/rules': ({ ctl }) => ctl.firewall.v1Rules().map((rule, position) => [rule, position]),

  'POST /firewall/rules': ({ ctl, body }) => {
    const b = body as { rule: string; position?: number };
    const rule = ctl.firewall.makeRule(b.rule, 'v1');
    const position = positionParam(b.position, ctl.firewall.v1Rules().length, true);
    ctl.firewall.v1Insert(rule, position);
    return { status: 'success', rule: rule.rule, position };
  },

  'DELETE /firewall/rules': ({ ctl, body }) => {
    const wanted = normalizeRuleText(String((body as { rule: string }).rule ?? ''));
    const removed = ctl.firewall.v1Remove(wanted);
    if (!removed) throw badRequest(`Rule not found: ${wanted}`);
    return { status: 'success', rule: wanted, position: removed.position };
  },

  'DELETE /firewall/rules/{position}': ({ ctl, params }) => {
    const rules = ctl.firewall.v1Rules();
    const position = positionParam(params.position, rules.length, false);
    ctl.firewall.v1RemoveAt(position);
    return { status: 'success', rule: rules[position], position };
  },

  /** Replaces every rule with the given lines (all checked first, so a bad line changes nothing). */
  'PUT /firewall': ({ ctl, body }) => {
    const lines = String((body as { rules: string }).rules).split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    lines.forEach((line) => checkRule(line, 'v1'));
    ctl.firewall.rules = lines.map((line) => ctl.firewall.makeRule(line, 'v1'));
    return { status: 'submitted', token: taskToken() };
  },

  'PUT /firewall/actions': ({ body }) => firewallAction(body),
};
