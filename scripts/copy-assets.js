// Copies what tsc does not emit into dist/: each node's .html, locales and icons beside
// its .js, and the shipped flows into examples/ (Node-RED's Import › Examples).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

function copyTree(src, dst, filter) {
  if (!fs.existsSync(src)) return 0;
  let n = 0;
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, entry.name);
    const d = path.join(dst, entry.name);
    if (entry.isDirectory()) n += copyTree(s, d, filter);
    else if (filter(s)) {
      fs.mkdirSync(path.dirname(d), { recursive: true });
      fs.copyFileSync(s, d);
      n++;
    }
  }
  return n;
}

const nodeAssets = copyTree(
  path.join(root, 'nodes'),
  path.join(root, 'dist', 'nodes'),
  (f) => !f.endsWith('.ts'),
);
fs.rmSync(path.join(root, 'examples'), { recursive: true, force: true });
const examples = copyTree(path.join(root, 'flows'), path.join(root, 'examples'), (f) => f.endsWith('.json'));
fs.writeFileSync(path.join(root, 'dist', '.build-stamp'), new Date().toISOString() + '\n');
console.log(`copied ${nodeAssets} node assets to dist/nodes and ${examples} flows to examples/`);
