#!/usr/bin/env node
import { launch } from './launch.js';

await launch('dist/topology/cli/vns3', 'src/topology/cli/vns3');
