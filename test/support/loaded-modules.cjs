// Preloaded (`node --require`) by test/cli/executable.test.ts: when the process exits, writes the
// built-in modules it loaded and the bundle files it read to the file named by LOADED_MODULES_FILE,
// so a test can say what a command loads without timing anything.
'use strict';
const { writeFileSync } = require('node:fs');

const target = process.env.LOADED_MODULES_FILE;
if (target) {
  process.on('exit', () => {
    const files = Object.keys(require.cache);
    writeFileSync(target, JSON.stringify({ builtins: process.moduleLoadList, files }));
  });
}
