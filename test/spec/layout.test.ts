/**
 * The split spec's layout, as the lead and five helpers edit it in parallel: schema names unique
 * across files (the bundlers hoist them by name), every paths-file entry registered in the root
 * under its area's block and every root entry pointing at one.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { AREAS } from '../../scripts/api-coverage.mjs';

type Json = Record<string, unknown>;
const specDir = fileURLToPath(new URL('../../spec/', import.meta.url));
const read = (relative: string): string => readFileSync(`${specDir}${relative}`, 'utf8');
const yamlFiles = (dir: string): string[] => readdirSync(`${specDir}${dir}`).filter((f) => f.endsWith('.yaml')).sort();
const rootText = read('vns3.yaml');
const root = load(rootText) as Json;
const escape = (template: string): string => template.replace(/~/g, '~0').replace(/\//g, '~1');

describe('spec/ layout', () => {
  it('names every schema once across the root and spec/schemas/*.yaml', () => {
    const seen = new Map<string, string[]>();
    const add = (name: string, where: string) => seen.set(name, [...(seen.get(name) ?? []), where]);
    for (const name of Object.keys(((root.components as Json).schemas ?? {}) as Json)) add(name, 'vns3.yaml');
    for (const file of yamlFiles('schemas')) {
      for (const name of Object.keys((load(read(`schemas/${file}`)) ?? {}) as Json)) add(name, `schemas/${file}`);
    }
    expect([...seen].filter(([, where]) => where.length > 1).map(([name, where]) => `${name}: ${where.join(', ')}`)).toEqual([]);
  });

  it('has paths and schemas files only for the reference areas', () => {
    const areas = AREAS.map((a) => `${a.area}.yaml`);
    expect(yamlFiles('paths').filter((f) => !areas.includes(f))).toEqual([]);
    expect(yamlFiles('schemas').filter((f) => !areas.includes(f))).toEqual([]);
  });

  it('registers every path of every paths file in the root, under its area block, with the right pointer', () => {
    // The root's paths section as written: `# area: x` comment lines, then one ref line per path.
    const section = rootText.slice(rootText.indexOf('\npaths:\n'), rootText.indexOf('\ncomponents:\n'));
    const registered = new Map<string, { area: string | undefined; ref: string }>();
    let area: string | undefined;
    for (const line of section.split('\n')) {
      const comment = /^ {2}# area: ([\w-]+)\s*$/.exec(line);
      if (comment) area = comment[1];
      const entry = /^ {2}(\/\S*): \{ \$ref: '([^']+)' \}\s*$/.exec(line);
      if (entry) registered.set(entry[1]!, { area, ref: entry[2]! });
    }
    expect(registered.size).toBe(Object.keys(root.paths as Json).length);
    const problems: string[] = [];
    const listed = new Set<string>();
    for (const file of yamlFiles('paths')) {
      const fileArea = file.replace(/\.yaml$/, '');
      for (const template of Object.keys((load(read(`paths/${file}`)) ?? {}) as Json)) {
        listed.add(template);
        const entry = registered.get(template);
        const want = `paths/${file}#/${escape(template)}`;
        if (!entry) problems.push(`${template} (paths/${file}) is not in the root`);
        else if (entry.ref !== want) problems.push(`${template}: root refers to ${entry.ref}, want ${want}`);
        else if (entry.area !== fileArea) problems.push(`${template}: under "# area: ${entry.area}", want "# area: ${fileArea}"`);
      }
    }
    for (const template of registered.keys()) if (!listed.has(template)) problems.push(`root lists ${template}, which no paths file has`);
    expect(problems).toEqual([]);
  });

  it('tags every operation with a tag the root declares', () => {
    const declared = new Set(((root.tags ?? []) as Array<{ name: string }>).map((t) => t.name));
    const undeclared: string[] = [];
    for (const file of yamlFiles('paths')) {
      for (const [template, item] of Object.entries((load(read(`paths/${file}`)) ?? {}) as Record<string, Json>)) {
        for (const [method, op] of Object.entries(item)) {
          for (const tag of ((op as Json).tags ?? []) as string[]) if (!declared.has(tag)) undeclared.push(`${method} ${template}: ${tag}`);
        }
      }
    }
    expect(undeclared).toEqual([]);
  });
});
