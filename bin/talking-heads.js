#!/usr/bin/env node
'use strict';
const { runCli } = require('../dist/cli/main.js');
const { runAsProcess } = require('../dist/cli/process.js');

runAsProcess(() => runCli(process.argv.slice(2)), true);
