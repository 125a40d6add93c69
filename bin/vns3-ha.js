#!/usr/bin/env node
import { launch } from './launch.js';

await launch('dist/ha/cli', 'src/ha/cli');
