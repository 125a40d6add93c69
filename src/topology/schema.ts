/**
 * The JSON Schema of topology files (schema/topology.schema.json, published with the package so
 * editors complete and check files) is the source of truth: the loader validates with it, and
 * turns each of Ajv's errors into a problem with the file, line, column and field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TopologyProblem } from './errors.js';
import { fieldOf, locate, pointerSegment, type SourceDocument } from './source.js';

// src/topology and dist/topology sit two levels below the package root, dist/cjs/topology three.
const CANDIDATES = ['../../schema/topology.schema.json', '../../../schema/topology.schema.json'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
/** Where the topology schema is read from (the package's `schema/topology.schema.json`). */
export const TOPOLOGY_SCHEMA_PATH = CANDIDATES.find((p) => existsSync(p)) ?? CANDIDATES[0]!;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, verbose: true, strict: false }).compile(JSON.parse(readFileSync(TOPOLOGY_SCHEMA_PATH, 'utf8')) as object);
  return compiled;
}

/** Ajv's message, made to read well after a field name; values are never quoted (they may be secrets). */
function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const schema = e.parentSchema as { description?: string } | undefined;
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown field "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing required field "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'oneOf':
    case 'anyOf':
      return `has none of the allowed forms${schema?.description ? ` (${schema.description})` : ''}`;
    default:
      return e.message ?? e.keyword;
  }
}

/** The errors worth showing: a oneOf/anyOf stands for its branches' errors, which are dropped. */
function relevant(errors: readonly ErrorObject[]): ErrorObject[] {
  const alternatives = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  // A branch's errors sit at the alternative's own place or below it ($refs hide them from schemaPath).
  const inBranch = (e: ErrorObject): boolean => alternatives.some((a) => a !== e && (e.instancePath === a.instancePath || e.instancePath.startsWith(`${a.instancePath}/`)));
  const seen = new Set<string>();
  return errors.filter((e) => {
    if (inBranch(e)) return false;
    const key = `${e.instancePath}|${describe(e)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Validates a resolved document; returns one problem per error, placed in the source. */
export function schemaProblems(data: unknown, source: SourceDocument): TopologyProblem[] {
  const validate = validator();
  if (validate(data)) return [];
  return relevant(validate.errors ?? []).map((e) => {
    const p = e.params as Record<string, unknown>;
    const extra = e.keyword === 'additionalProperties' ? `${e.instancePath}/${pointerSegment(String(p.additionalProperty))}` : undefined;
    const at = extra ? locate(source, extra, true) : locate(source, e.instancePath);
    return { file: source.file, line: at?.line, column: at?.column, field: fieldOf(extra ?? e.instancePath), message: describe(e) };
  });
}
