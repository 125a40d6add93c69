#!/usr/bin/env node
import { launch } from './launch.js';

await launch('dist/testing/cli/sim', 'src/testing/cli/sim');
