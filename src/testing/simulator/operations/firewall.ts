import { badRequest } from '../errors.js';
import type { OperationTable } from './types.js';

const CHAINS = ['INPUT_CUST', 'OUTPUT_CUST', 'FORWARD_CUST', 'PREROUTING_CUST', 'POSTROUTING_CUST', 'MACRO_CUST', 'FORWARD_CUST_PRE'];

/** Firewall v1 rules are iptables-like lines on the VNS3 chains; anything else is refused. */
function checkRule(rule: string): string {
  const trimmed = rule.trim().replace(/\s+/g, ' ');
  const chain = trimmed.split(' ')[0] ?? '';
  if (!CHAINS.includes(chain)) throw badRequest(`Invalid firewall rule: unknown chain '${chain}'.`);
  if (!/\s-j\s+\S+/.test(` ${trimmed}`)) throw badRequest('Invalid firewall rule: a target (-j) is required.');
  return trimmed;
}

function positionParam(raw: unknown, length: number, allowAppend: boolean): number {
  const position = typeof raw === 'string' ? Number(raw) : (raw as number);
  if (allowAppend && (position === -1 || raw === undefined)) return length;
  const max = allowAppend ? length : length - 1;
  if (!Number.isInteger(position) || position < 0 || position > max) {
    throw badRequest(`Invalid position: ${String(raw)} (there are ${length} rules).`);
  }
  return position;
}

export const firewallOperations: OperationTable = {
  'GET /firewall/rules': ({ ctl }) => ctl.firewall.map((rule, position) => [rule, position]),

  'POST /firewall/rules': ({ ctl, body }) => {
    const b = body as { rule: string; position?: number };
    const rule = checkRule(b.rule);
    const position = positionParam(b.position, ctl.firewall.length, true);
    ctl.firewall.splice(position, 0, rule);
    return { status: 'success', rule, position };
  },

  'DELETE /firewall/rules': ({ ctl, body }) => {
    const wanted = String((body as { rule: string }).rule ?? '').trim().replace(/\s+/g, ' ');
    const position = ctl.firewall.indexOf(wanted);
    if (position < 0) throw badRequest(`Rule not found: ${wanted}`);
    ctl.firewall.splice(position, 1);
    return { status: 'success', rule: wanted, position };
  },

  'DELETE /firewall/rules/{position}': ({ ctl, params }) => {
    const position = positionParam(params.position, ctl.firewall.length, false);
    const [rule] = ctl.firewall.splice(position, 1);
    return { status: 'success', rule, position };
  },
};
