/**
 * Variables of a topology file: where values come from (var files in the shape `terraform output
 * -json` prints or plain JSON objects, `VNS3_VAR_<name>` environment variables, declared defaults)
 * and how `${var.…}` / `${env.…}` references in the file's strings are filled in. Everything that
 * was marked sensitive (a Terraform output's `sensitive: true`, a declared `sensitive` variable) is
 * remembered so that no output ever shows it.
 */
import { readFile } from 'node:fs/promises';
import { Vns3TopologyError, type TopologyProblem } from './errors.js';
import { fieldOf, locate, pointerSegment, type SourceDocument } from './source.js';

/** One variable's value and whether it is a secret. */
export interface VariableValue {
  value: unknown;
  sensitive: boolean;
  /** Where it came from, for messages: a var file, `VNS3_VAR_x`, `default`. */
  origin: string;
}

/** Where variable values come from, besides the file's own defaults. */
export interface VariableSources {
  /** Var files, applied in order (a later file wins). */
  varFiles?: readonly string[];
  /** Plain values (a later source than the var files); default none. */
  vars?: Readonly<Record<string, unknown>>;
  /** Environment for `${env.X}` and `VNS3_VAR_<name>`; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** The environment prefix of variables, as Terraform's `TF_VAR_`. */
export const ENV_VAR_PREFIX = 'VNS3_VAR_';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `terraform output -json`: every member is `{ value, type, sensitive? }`. */
function isTerraformOutput(doc: Record<string, unknown>): boolean {
  const members = Object.values(doc);
  return members.length > 0 && members.every((m) => isObject(m) && 'value' in m && ('type' in m || 'sensitive' in m));
}

/** Reads one var file; Vns3TopologyError names it when it is unreadable or not a JSON object. */
export async function readVarFile(file: string): Promise<Map<string, VariableValue>> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code ? `cannot be read (${code})` : `not valid JSON (${(error as Error).message.split('\n')[0]})`;
    throw new Vns3TopologyError([{ file, field: '', message: `var file ${why}` }]);
  }
  if (!isObject(doc)) throw new Vns3TopologyError([{ file, field: '', message: 'a var file must hold one JSON object' }]);
  const out = new Map<string, VariableValue>();
  const terraform = isTerraformOutput(doc);
  for (const [name, member] of Object.entries(doc)) {
    if (terraform) {
      const m = member as { value: unknown; sensitive?: unknown };
      out.set(name, { value: m.value, sensitive: m.sensitive === true, origin: file });
    } else {
      out.set(name, { value: member, sensitive: false, origin: file });
    }
  }
  return out;
}

/** An environment value: JSON when it looks like a list or object (as TF_VAR_ takes HCL), else the string. */
function envValue(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

/** Every variable's value: declared defaults, then `VNS3_VAR_*`, then var files in order, then `vars`. */
export async function collectVariables(declared: Readonly<Record<string, { default?: unknown; sensitive?: boolean }>>, sources: VariableSources): Promise<Map<string, VariableValue>> {
  const env = sources.env ?? process.env;
  const values = new Map<string, VariableValue>();
  for (const [name, decl] of Object.entries(declared)) {
    if (decl.default !== undefined) values.set(name, { value: decl.default, sensitive: false, origin: 'default' });
  }
  for (const [key, text] of Object.entries(env)) {
    if (key.startsWith(ENV_VAR_PREFIX) && text !== undefined && key.length > ENV_VAR_PREFIX.length) {
      values.set(key.slice(ENV_VAR_PREFIX.length), { value: envValue(text), sensitive: false, origin: key });
    }
  }
  for (const file of sources.varFiles ?? []) for (const [name, v] of await readVarFile(file)) values.set(name, v);
  for (const [name, value] of Object.entries(sources.vars ?? {})) values.set(name, { value, sensitive: false, origin: 'vars' });
  for (const [name, decl] of Object.entries(declared)) {
    const v = values.get(name);
    if (v && decl.sensitive) v.sensitive = true;
  }
  return values;
}

/** Every string leaf of a value (what must be redacted when the value is a secret). */
export function stringLeaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringLeaves(v, out);
  else if (isObject(value)) for (const v of Object.values(value)) stringLeaves(v, out);
  return out;
}

const REFERENCE = /\$\{([^}]*)\}/g;
const PATH = /^(var|env)\.([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*|\[\d+\])*)$/;

/** What resolving the references of a document produced. */
export interface Resolution {
  data: unknown;
  /** String values that came from sensitive variables: never to be shown. */
  secrets: Set<string>;
  /** Pointers whose value came (wholly or partly) from a reference, for messages that must not echo them. */
  referenced: Set<string>;
}

/** Fills in `${var.…}` and `${env.…}` everywhere in the document. Throws Vns3TopologyError listing every reference that cannot be resolved. */
export function resolveReferences(source: SourceDocument, variables: Map<string, VariableValue>, env: NodeJS.ProcessEnv = process.env): Resolution {
  const problems: TopologyProblem[] = [];
  const secrets = new Set<string>();
  const referenced = new Set<string>();
  const problem = (pointer: string, message: string): void => {
    const at = locate(source, pointer);
    problems.push({ file: source.file, line: at?.line, column: at?.column, field: fieldOf(pointer), message });
  };

  const lookup = (expr: string, pointer: string): { ok: boolean; value?: unknown } => {
    const m = PATH.exec(expr.trim());
    if (!m) {
      problem(pointer, `\${${expr}} is not a reference: write \${var.NAME}, \${var.NAME.field[0]} or \${env.NAME}`);
      return { ok: false };
    }
    const [, kind, name, rest] = m as unknown as [string, 'var' | 'env', string, string];
    if (kind === 'env') {
      const value = env[name];
      if (value === undefined) problem(pointer, `environment variable ${name} is not set`);
      return { ok: value !== undefined, value };
    }
    const variable = variables.get(name);
    if (!variable) {
      problem(pointer, `variable "${name}" has no value: pass it in a --var-file, set ${ENV_VAR_PREFIX}${name}, or give it a default under variables`);
      return { ok: false };
    }
    let value = variable.value;
    let path = name;
    for (const step of rest.match(/\.[A-Za-z_][\w-]*|\[\d+\]/g) ?? []) {
      const key = step.startsWith('[') ? Number(step.slice(1, -1)) : step.slice(1);
      const next = Array.isArray(value) && typeof key === 'number' ? value[key] : isObject(value) && typeof key === 'string' ? value[key] : undefined;
      if (next === undefined) {
        problem(pointer, `variable "${name}" (from ${variable.origin}) has no ${path}${step}`);
        return { ok: false };
      }
      value = next;
      path += step;
    }
    if (variable.sensitive) for (const s of stringLeaves(value)) secrets.add(s);
    return { ok: true, value };
  };

  const walk = (node: unknown, pointer: string): unknown => {
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${pointer}/${i}`));
    if (isObject(node)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) out[k] = pointer === '' && k === 'variables' ? v : walk(v, `${pointer}/${pointerSegment(k)}`);
      return out;
    }
    if (typeof node !== 'string' || !node.includes('${')) return node;
    referenced.add(pointer);
    const whole = /^\$\{([^}]*)\}$/.exec(node);
    if (whole) {
      const r = lookup(whole[1]!, pointer);
      return r.ok ? r.value : node;
    }
    return node.replace(REFERENCE, (text, expr: string) => {
      const r = lookup(expr, pointer);
      if (!r.ok) return text;
      if (r.value !== null && typeof r.value === 'object') {
        problem(pointer, `\${${expr}} is a list or object and cannot be part of a longer string`);
        return text;
      }
      return String(r.value);
    });
  };

  const data = walk(source.data, '');
  if (problems.length > 0) throw new Vns3TopologyError(problems);
  return { data, secrets, referenced };
}
