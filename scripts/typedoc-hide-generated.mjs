// A TypeDoc plugin for this repository: keeps the openapi-typescript output (`paths`, `components`,
// `operations` of src/generated/vns3.ts) out of the API reference. They are the whole VNS3 API as
// types (a 2.4 MB page); the reference shows `Vns3Paths` / `Vns3Components` as names and points to
// spec/vns3.yaml instead. typedoc-plugin-missing-exports would otherwise document them in full.
import { Converter, ReflectionKind } from 'typedoc';

const GENERATED = new Set(['paths', 'components', 'operations', 'webhooks', '$defs']);

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(
    Converter.EVENT_RESOLVE_BEGIN,
    (context) => {
      const project = context.project;
      for (const reflection of project.getReflectionsByKind(ReflectionKind.Interface | ReflectionKind.TypeAlias)) {
        if (GENERATED.has(reflection.name) && reflection.parent?.kind !== ReflectionKind.Project && !reflection.name.startsWith('Vns3')) {
          project.removeReflection(reflection);
        }
      }
    },
    -100,
  );
}
