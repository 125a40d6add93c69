#!/usr/bin/env bash
# What a consumer of the published package gets, checked from the packed tarball in an empty project
# under /tmp: the packages the core install brings (at most 12), import() and require() of every entry
# point (the seven subpaths), the vns3 command and the published topology schema, and a consumer file importing them all type-checked under NodeNext (ESM and CommonJS files)
# and Bundler with skipLibCheck false and no cloud SDK or simulator dependency installed.
# Needs the registry (npm install of the tarball's dependencies). Usage: bash scripts/check-package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d /tmp/vns3-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT

npm pack --silent --pack-destination "$work" >/dev/null
tarball=$(ls "$work"/vns3-sdk-*.tgz)
listing=$(tar -tzf "$tarball")
grep -qx 'package/LICENSE' <<<"$listing" || { echo 'no LICENSE in the tarball'; exit 1; }
if grep -q '\.map$' <<<"$listing"; then echo 'source maps in the tarball'; exit 1; fi
echo "tarball: $(wc -l <<<"$listing") files, $(du -h "$tarball" | cut -f1), LICENSE, no source maps"

cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "$tarball"
count=$(npm ls --all --parseable | tail -n +2 | wc -l)
echo "core install: $count packages ($(du -sh node_modules | cut -f1))"
[ "$count" -le 12 ] || { echo 'more than 12 packages'; exit 1; }

entries="'vns3-sdk', 'vns3-sdk/client', 'vns3-sdk/macros', 'vns3-sdk/ha', 'vns3-sdk/testing', 'vns3-sdk/net', 'vns3-sdk/topology'"
node -e "for (const e of [$entries]) console.log('require', e, Object.keys(require(e)).length, 'names')"
node --input-type=module -e "for (const e of [$entries]) console.log('import ', e, Object.keys(await import(e)).length, 'names')"
# ajv is a regular dependency since the vns3 command validates topology files with it.
node -e "const s = require('vns3-sdk/topology.schema.json'); if (s.title !== 'VNS3 topology') process.exit(1); console.log('schema: vns3-sdk/topology.schema.json')"
npx --no-install vns3 --help | head -1

source='import { createClient, type Vns3Client } from "vns3-sdk";
import { createHaAgent } from "vns3-sdk/ha";
import { startSimulator } from "vns3-sdk/testing";
import { parseCidr } from "vns3-sdk/net";
import { parseControllerAddress } from "vns3-sdk/client";
import { readThenWrite, type WaitForMeshOptions } from "vns3-sdk/macros";
import { loadTopology, type TopologyPlan } from "vns3-sdk/topology";
export type C = Vns3Client;
export type W = WaitForMeshOptions;
export type P = TopologyPlan;
export { createClient, createHaAgent, startSimulator, parseCidr, parseControllerAddress, readThenWrite, loadTopology };'
for ext in ts mts cts; do printf '%s\n' "$source" > "consumer.$ext"; done
tsc="$root/node_modules/.bin/tsc"
common="--noEmit --strict --skipLibCheck false --target ES2022 --types node --typeRoots $root/node_modules/@types"
"$tsc" $common --module NodeNext --moduleResolution NodeNext consumer.ts consumer.mts consumer.cts && echo 'types: NodeNext (CommonJS and ESM files) ok'
"$tsc" $common --module ESNext --moduleResolution Bundler consumer.ts && echo 'types: Bundler ok'
