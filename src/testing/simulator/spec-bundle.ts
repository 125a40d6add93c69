import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { load } from 'js-yaml';

/**
 * Reads our split spec (spec/vns3.yaml plus spec/paths/*.yaml and spec/schemas/*.yaml) into one
 * document whose `$ref`s are all local, the shape the simulator's validator and the spec tests
 * read. openapi-typescript bundles the same files itself (through Redocly); this follows the same
 * conventions so both see one API:
 * - a path item in the root that is a `$ref` into a paths file is inlined;
 * - a `$ref` back into the root file (`../vns3.yaml#/components/...`) becomes local;
 * - any other `$ref` into another file names a schema: it is hoisted into `components.schemas`
 *   under the last segment of its pointer (so schema names are unique across files — a clash is
 *   an error here rather than a silent rename).
 */
type Json = Record<string, unknown>;

function pointerParts(pointer: string): string[] {
  return pointer
    .replace(/^\//, '')
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Bundles the spec whose root file is `rootPath` into one document with local `$ref`s only. */
export function bundleSpec(rootPath: string, readText: (path: string) => string = (p) => readFileSync(p, 'utf8')): Json {
  const root = resolve(rootPath);
  const files = new Map<string, Json>();
  const fileAt = (path: string): Json => {
    let doc = files.get(path);
    if (!doc) {
      doc = load(readText(path)) as Json;
      files.set(path, doc);
    }
    return doc;
  };
  const target = (file: string, pointer: string): unknown => {
    let node: unknown = fileAt(file);
    for (const part of pointerParts(pointer)) {
      node = node && typeof node === 'object' ? (node as Json)[part] : undefined;
    }
    if (node === undefined) throw new Error(`spec: $ref ${file}#${pointer} points at nothing`);
    return node;
  };
  const hoisted = new Map<string, string>();
  const extraSchemas: Json = {};

  const rewrite = (node: unknown, file: string): unknown => {
    if (Array.isArray(node)) return node.map((n) => rewrite(n, file));
    if (!node || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node as Json)) {
      out[key] = key === '$ref' && typeof value === 'string' ? localRef(value, file) : rewrite(value, file);
    }
    return out;
  };
  const localRef = (ref: string, file: string): string => {
    const [filePart = '', pointer = ''] = ref.split('#');
    const refFile = filePart === '' ? file : resolve(dirname(file), filePart);
    if (refFile === root) return `#${pointer}`;
    const name = pointerParts(pointer).at(-1);
    if (!name) throw new Error(`spec: $ref ${ref} in ${file} names no schema`);
    const source = `${refFile}#${pointer}`;
    const seen = hoisted.get(name);
    if (seen && seen !== source) throw new Error(`spec: schema name ${name} is defined twice (${seen} and ${source})`);
    if (!seen) {
      hoisted.set(name, source);
      extraSchemas[name] = rewrite(target(refFile, pointer), refFile);
    }
    return `#/components/schemas/${name}`;
  };

  const doc = fileAt(root);
  const paths: Json = {};
  for (const [template, item] of Object.entries((doc.paths ?? {}) as Json)) {
    const ref = (item as Json | null)?.$ref;
    if (typeof ref === 'string' && !ref.startsWith('#')) {
      const [filePart = '', pointer = ''] = ref.split('#');
      const file = resolve(dirname(root), filePart);
      paths[template] = rewrite(target(file, pointer), file);
    } else {
      paths[template] = rewrite(item, root);
    }
  }
  const components = (rewrite(doc.components ?? {}, root) ?? {}) as Json;
  const schemas = { ...((components.schemas ?? {}) as Json) };
  for (const [name, schema] of Object.entries(extraSchemas)) {
    if (name in schemas) throw new Error(`spec: schema name ${name} is defined in the root and in ${hoisted.get(name)}`);
    schemas[name] = schema;
  }
  return { ...doc, paths, components: { ...components, schemas } };
}
