import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SimApiError } from './errors.js';
import { bundleSpec } from './spec-bundle.js';
import { requireSimDependency } from '../optional.js';

/**
 * Request and response validation against our own spec/vns3.yaml, so the simulator refuses exactly
 * what the spec says a controller refuses, and its replies can be checked against the same contract.
 */
type Json = Record<string, unknown>;

/** One schema error, as much of Ajv's `ErrorObject` as the simulator reads. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * A compiled schema: true when the data is valid, else `errors` says why. Declared here rather than
 * taken from Ajv so that the published types do not need Ajv (an optional dependency) installed.
 */
export interface ValidateFunction {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}

/** The slice of an Ajv instance the validator uses. */
interface SchemaCompiler {
  addSchema(schema: object): unknown;
  compile(schema: object): ValidateFunction;
}

function newAjv(): SchemaCompiler {
  const { Ajv } = requireSimDependency<{ Ajv: new (options: object) => SchemaCompiler }>('ajv');
  // `binary` marks a download (a file, not JSON) for openapi-typescript; there is nothing for Ajv to
  // check, and naming it here keeps Ajv from warning "unknown format" at every start.
  return new Ajv({ strict: false, allErrors: true, formats: { binary: true } });
}

export interface OperationSpec {
  method: string;
  template: string;
  operationId: string;
  pattern: RegExp;
  paramNames: string[];
  validateBody?: ValidateFunction;
  /** The JSON body's schema as written (with `$ref`s), for {@link SpecValidator.normalizeBody}. */
  bodySchema?: Json;
  bodyRequired: boolean;
  bodyContentType?: string;
  responses: Map<string, ValidateFunction>;
}

// src/testing/simulator and dist/testing/simulator sit three levels below the package root, the
// CommonJS build's dist/cjs/testing/simulator four.
const SPEC_CANDIDATES = ['../../../spec/vns3.yaml', '../../../../spec/vns3.yaml'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
/** Where the simulator reads the API spec it validates requests and replies against. */
export const SPEC_PATH = SPEC_CANDIDATES.find((p) => existsSync(p)) ?? SPEC_CANDIDATES[0]!;

function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(node as Json)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `vns3${v}` : rewriteRefs(v);
    }
    return out;
  }
  return node;
}

function deref(spec: Json, node: Json | undefined): Json | undefined {
  let current = node;
  for (let i = 0; current && typeof current.$ref === 'string' && i < 10; i++) {
    const parts = (current.$ref as string).slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let target: unknown = spec;
    for (const p of parts) target = (target as Json | undefined)?.[p];
    current = target as Json | undefined;
  }
  return current;
}

export class SpecValidator {
  readonly operations: OperationSpec[] = [];
  private readonly ajv = newAjv();
  private readonly spec: Json;

  /** Reads the spec whose root file is `specPath` (with the area files it refers to). */
  constructor(specPath = SPEC_PATH) {
    const spec = bundleSpec(specPath);
    this.spec = spec;
    this.ajv.addSchema({ ...(rewriteRefs({ components: spec.components }) as Json), $id: 'vns3' });
    const paths = (spec.paths ?? {}) as Record<string, Json>;
    for (const [template, item] of Object.entries(paths)) {
      for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
        const op = item[method] as Json | undefined;
        if (!op) continue;
        const paramNames: string[] = [];
        const pattern = new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
            paramNames.push(name);
            return '([^/]+)';
          })}$`,
        );
        const body = deref(spec, op.requestBody as Json | undefined);
        const content = (body?.content ?? {}) as Record<string, Json>;
        const [contentType, media] = Object.entries(content)[0] ?? [];
        const responses = new Map<string, ValidateFunction>();
        for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
          const schema = (deref(spec, response)?.content as Record<string, Json> | undefined)?.['application/json']?.schema;
          if (schema) responses.set(status, this.ajv.compile(rewriteRefs(schema) as Json));
        }
        this.operations.push({
          method: method.toUpperCase(),
          template,
          operationId: String(op.operationId ?? ''),
          pattern,
          paramNames,
          bodyRequired: body?.required === true,
          bodyContentType: contentType,
          bodySchema: contentType === 'application/json' ? (media?.schema as Json | undefined) : undefined,
          validateBody: contentType === 'application/json' && media?.schema ? this.ajv.compile(rewriteRefs(media.schema) as Json) : undefined,
          responses,
        });
      }
    }
  }

  /** The operation for a request path below /api, with its path parameters. */
  match(method: string, path: string): { op: OperationSpec; params: Record<string, string> } | 'method-not-allowed' | undefined {
    let pathMatched = false;
    for (const op of this.operations) {
      const m = op.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (op.method !== method) continue;
      const params: Record<string, string> = {};
      op.paramNames.forEach((name, i) => {
        const raw = m[i + 1] ?? '';
        try {
          params[name] = decodeURIComponent(raw);
        } catch {
          // A malformed percent-encoding is the client's mistake: 400, never a 500.
          throw new SimApiError(400, `Invalid ${name}: malformed percent-encoding in '${raw}'.`, 'APIArgumentError');
        }
      });
      return { op, params };
    }
    return pathMatched ? 'method-not-allowed' : undefined;
  }

  /**
   * Reads a JSON body the way a controller does before checking it: an optional field sent as
   * `null` is absent (generated clients send every field), and `"true"`/`"false"` in any case is a
   * boolean where the schema wants one (older VNS3 versions required strings; the Python SDK still
   * sends them). Returns a new value; anything else is left for {@link checkBody} to judge.
   */
  normalizeBody(op: OperationSpec, body: unknown): unknown {
    return op.bodySchema ? this.normalize(op.bodySchema, body, 0) : body;
  }

  private normalize(schemaRef: Json, value: unknown, depth: number): unknown {
    const schema = deref(this.spec, schemaRef);
    if (!schema || depth > 20) return value;
    if (typeof value === 'string' && /^(true|false)$/i.test(value.trim()) && this.allows(schema, 'boolean', 0)) {
      return value.trim().toLowerCase() === 'true';
    }
    if (Array.isArray(value)) {
      const items = schema.items as Json | undefined;
      return items ? value.map((v) => this.normalize(items, v, depth + 1)) : value;
    }
    if (value === null || typeof value !== 'object') return value;
    const out: Json = {};
    for (const [key, v] of Object.entries(value as Json)) {
      if (v === null) continue;
      const property = this.propertySchema(schema, key, 0);
      out[key] = property ? this.normalize(property, v, depth + 1) : v;
    }
    return out;
  }

  /** The schemas a value may match: the schema itself and its oneOf/anyOf/allOf branches. */
  private branches(schema: Json): Json[] {
    const out: Json[] = [];
    for (const k of ['oneOf', 'anyOf', 'allOf']) {
      for (const b of (schema[k] as Json[] | undefined) ?? []) {
        const d = deref(this.spec, b);
        if (d) out.push(d);
      }
    }
    return out;
  }

  private allows(schema: Json, type: string, depth: number): boolean {
    const t = schema.type;
    if (t === type || (Array.isArray(t) && t.includes(type))) return true;
    return depth < 5 && this.branches(schema).some((b) => this.allows(b, type, depth + 1));
  }

  private propertySchema(schema: Json, key: string, depth: number): Json | undefined {
    const own = (schema.properties as Record<string, Json> | undefined)?.[key];
    if (own) return own;
    if (depth < 5) {
      for (const b of this.branches(schema)) {
        const found = this.propertySchema(b, key, depth + 1);
        if (found) return found;
      }
    }
    const extra = schema.additionalProperties;
    return extra && typeof extra === 'object' ? (extra as Json) : undefined;
  }

  /** Undefined when valid; otherwise a message naming the field, as a controller's 400 does. */
  checkBody(op: OperationSpec, body: unknown): string | undefined {
    if (!op.validateBody || op.validateBody(body)) return undefined;
    return describeErrors(op.validateBody.errors ?? []);
  }

  /** For tests: checks a reply against the spec's schema for that status. */
  checkResponse(method: string, path: string, status: number, body: unknown): string | undefined {
    const found = this.match(method, path);
    if (!found || found === 'method-not-allowed') return `no operation for ${method} ${path}`;
    const validate = found.op.responses.get(String(status)) ?? found.op.responses.get('default');
    if (!validate) return `the spec declares no ${status} reply for ${method} ${found.op.template}`;
    return validate(body) ? undefined : `${method} ${found.op.template} ${status}: ${describeErrors(validate.errors ?? [])}`;
  }
}

function fieldOf(e: SchemaError): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const missing = (e.params as { missingProperty?: string }).missingProperty;
  if (missing) return base ? `${base}.${missing}` : missing;
  return base || 'body';
}

function describeErrors(errors: SchemaError[]): string {
  // oneOf/anyOf produce one error per branch; the first concrete one names the field best.
  const first = errors.find((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf') ?? errors[0];
  if (!first) return 'Invalid request body.';
  const field = fieldOf(first);
  if (first.keyword === 'required') return `Invalid request: field '${field}' is required.`;
  if (first.keyword === 'additionalProperties') {
    return `Invalid request: unknown field '${(first.params as { additionalProperty?: string }).additionalProperty}'.`;
  }
  return `Invalid request: field '${field}' ${first.message ?? 'is invalid'}.`;
}

let shared: SpecValidator | undefined;
/** One validator per process: compiling the spec takes a moment and it never changes at run time. */
export function specValidator(): SpecValidator {
  shared ??= new SpecValidator();
  return shared;
}
