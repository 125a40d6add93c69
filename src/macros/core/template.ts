/**
 * `{name}` substitution in route and firewall templates, shared by routing and
 * firewall macros. The Python SDK formats with `str.format` and reports an
 * unknown name as a string in a list; we fail before any write, naming the
 * variable and the field it was used in, so a typo never reaches a controller.
 */
import { Vns3ValidationError, type Vns3Client } from '../../client/index.js';
import type { MacroOptions } from './types.js';
import { StateCache, type ControllerState } from './state.js';

/** Values for `{name}` placeholders. */
export type TemplateVariables = Readonly<Record<string, string | number>>;

/** Where a template came from, for error messages. */
export interface TemplateContext {
  /** The caller's field the template came from, e.g. `rules[3]` or `routes[0].gateway`. */
  field: string;
  controller?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces every `{name}` with its variable. `{{` and `}}` are literal braces,
 * as in Python's str.format. An unknown name, a malformed one or a lone brace
 * is a Vns3ValidationError naming the field.
 */
export function substitute(template: string, variables: TemplateVariables, context: TemplateContext): string {
  const fail = (reason: string): never => {
    throw new Vns3ValidationError(context.field, template, reason, { controller: context.controller });
  };
  if (typeof template !== 'string') fail('must be a string');
  let out = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i]!;
    const next = template[i + 1];
    if ((ch === '{' && next === '{') || (ch === '}' && next === '}')) {
      out += ch;
      i += 2;
    } else if (ch === '}') {
      fail(`lone "}" at offset ${i} (write }} for a literal brace)`);
    } else if (ch === '{') {
      const close = template.indexOf('}', i + 1);
      const inner = close < 0 ? undefined : template.slice(i + 1, close);
      if (inner === undefined || inner.includes('{')) fail(`unclosed "{" at offset ${i} (write {{ for a literal brace)`);
      const key = inner!.trim();
      if (!NAME.test(key)) fail(`"{${inner}}" is not a variable name: letters, digits and _ only`);
      if (!Object.hasOwn(variables, key)) {
        const known = Object.keys(variables).sort().join(', ') || 'none';
        fail(`unknown variable {${key}}; known variables: ${known}`);
      }
      out += String(variables[key]);
      i = close + 1;
    } else {
      out += ch;
      i += 1;
    }
  }
  return out;
}

/** The names of the variables a template uses (without substituting). */
export function templateVariableNames(template: string): string[] {
  const names = new Set<string>();
  for (const m of template.replace(/\{\{|\}\}/g, '').matchAll(/\{([^{}]*)\}/g)) names.add(m[1]!.trim());
  return [...names];
}

/**
 * Variables every controller offers to templates, from its state and `GET /config`:
 *
 * | name | value |
 * |---|---|
 * | `private_ip` (alias `primary_private_ip`) | the controller's private address |
 * | `public_ip` | its public address (when it has one) |
 * | `public_dns` | its public DNS name (when the cloud reports one) |
 * | `overlay_ip` | its overlay address |
 * | `subnet_gateway` | gateway of its subnet, as the controller reports it |
 * | `peer_id` | its peering id (once set) |
 * | `asn` | its BGP ASN |
 * | `controller_name`, `topology_name` | names from `GET /config` |
 * | `host` | the API address the client uses (`host:port`) |
 *
 * A variable whose value the controller does not report is absent, so using it
 * fails like an unknown name. The caller's variables override these.
 */
export function stateVariables(state: ControllerState, subnetGateway?: string | null): Record<string, string | number> {
  const vars: Record<string, string | number> = { host: state.host };
  const put = (name: string, value: string | number | undefined | null): void => {
    if (value !== undefined && value !== null && value !== '') vars[name] = value;
  };
  put('private_ip', state.privateIp);
  put('primary_private_ip', state.privateIp);
  put('public_ip', state.publicIp);
  put('public_dns', state.publicDns);
  put('overlay_ip', state.overlayIp);
  put('subnet_gateway', subnetGateway);
  put('peer_id', state.peerId);
  put('asn', state.asn);
  put('controller_name', state.controllerName);
  put('topology_name', state.topologyName);
  return vars;
}

/** How `controllerVariables` reads. */
export interface ControllerVariablesOptions extends MacroOptions {
  cache?: StateCache;
  /** Caller's variables; they win over the controller's. */
  variables?: TemplateVariables;
}

/** The controller's template variables merged with the caller's (which win); rejects with the client's error when a read fails. */
export async function controllerVariables(client: Vns3Client, options: ControllerVariablesOptions = {}): Promise<Record<string, string | number>> {
  const { signal } = options;
  const cache = options.cache ?? new StateCache();
  const [state, config] = await Promise.all([cache.get(client, { signal }), client.get('/config', { signal })]);
  return { ...stateVariables(state, config.subnet_gateway), ...options.variables };
}
