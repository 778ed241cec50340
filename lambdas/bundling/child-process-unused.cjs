// Bundled in place of node:child_process for commander only (scripts/build-cli.mjs). Commander
// requires it at load for executable subcommands (`git-style` separate binaries), which the CLI
// does not have; loading it costs every command ~6 ms of start-up (bench/cli). Calling it is a bug.
'use strict';
module.exports = {
  spawn() {
    throw new Error('rs-cert-watchdog has no executable subcommands (child_process is not bundled)');
  },
};
