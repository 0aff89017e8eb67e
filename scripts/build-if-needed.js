// `npm start` builds first when dist/ is missing or older than a source file.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const sources = [
  'core',
  'adapters',
  'nodes',
  'runtime',
  'flows',
  'sim',
  'bench',
  'settings.ts',
  'docker/mosquitto/aclfile',
  'package.json',
];

function newest(p) {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const e of fs.readdirSync(p)) m = Math.max(m, newest(path.join(p, e)));
  return m;
}

const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
const src = Math.max(...sources.map((s) => newest(path.join(root, s))));
if (src > built) {
  console.log(built ? 'sources changed: building…' : 'first start: building…');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [path.join(__dirname, 'copy-assets.js')], { cwd: root, stdio: 'inherit' });
}
