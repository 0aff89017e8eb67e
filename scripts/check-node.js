// Run first by every npm script that starts something (`npm start`, `npm run demo` …): says in
// one line that this Node.js is too old, before anything else runs. Plain old JavaScript on
// purpose, so that it runs on any Node.js. runtime/node-check.ts does the same for the launcher.
'use strict';
var MIN = [22, 9];

function problem(version) {
  var v = String(version).replace(/^v/, '').split('.');
  var major = Number(v[0]);
  var minor = Number(v[1]);
  if (major > MIN[0] || (major === MIN[0] && minor >= MIN[1])) return null;
  return (
    'WPT-DLM needs Node.js ' +
    MIN.join('.') +
    ' or later; this is Node.js ' +
    version +
    ' (' +
    process.execPath +
    ')'
  );
}

module.exports = { MIN: MIN, problem: problem };

if (require.main === module) {
  var p = problem(process.versions.node);
  if (p) {
    console.error(p);
    process.exit(1);
  }
}
