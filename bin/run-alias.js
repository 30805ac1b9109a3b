'use strict';
// Shared by the single-command bin aliases: `train-meta ARGS` runs `talking-heads train-meta ARGS`.
const { runAlias } = require('../dist/cli/alias.js');
const { runAsProcess } = require('../dist/cli/process.js');

module.exports = function runAliasBin(command) {
  runAsProcess(() => runAlias(command, process.argv.slice(2)), true);
};
