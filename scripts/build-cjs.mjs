// Finishes the CommonJS build in dist/cjs (tsc -p tsconfig.cjs.json): marks the folder as CommonJS,
// and replaces `import.meta.url` (which tsc leaves as is and CommonJS cannot parse) by the file's own
// URL. The ES module build in dist/ is the primary one; this one serves `require('vns3-sdk')`.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../dist/cjs/', import.meta.url);
writeFileSync(new URL('package.json', root), '{\n  "type": "commonjs"\n}\n');

let patched = 0;
for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  const text = readFileSync(file, 'utf8');
  if (!text.includes('import.meta.url')) continue;
  writeFileSync(file, text.replaceAll('import.meta.url', 'require("node:url").pathToFileURL(__filename).href'));
  patched++;
}
console.log(`dist/cjs: CommonJS build ready (${patched} file(s) with import.meta.url patched)`);
