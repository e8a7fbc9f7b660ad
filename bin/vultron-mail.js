#!/usr/bin/env node
// Entry point of the `vultron-mail` command: the compiled CLI (npm install / npm ci build it).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
