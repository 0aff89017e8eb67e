// Copies what tsc does not emit into dist/: each node's .html, locales and icons beside its .js,
// and the broker's default ACL (docker/mosquitto/aclfile) into dist/runtime.
// Builds examples/ (Node-RED's Import › Examples) from the shipped flows: one file per tab of
// flows/, each carrying the configuration nodes it uses, so that each imports and deploys alone
// into an empty Node-RED; imported together they are the whole orchestrator (the links between
// tabs join up). examples/ is what the package ships; flows/ is the repository's copy.
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

/** The example file name of each shipped flow file (numbered in import order). */
const EXAMPLES = {
  'main.json': '1 orchestration - MQTT, twin, DLM, PostgreSQL.json',
  'api.json': '2 REST API.json',
  'timeseries.json': '3 time series - InfluxDB.json',
  'dashboard.json': '4 operators dashboard.json',
  'original-api.json': '5 original API (compatibility).json',
};

/** Node ids a node refers to through its properties (config nodes, scopes…), deep. */
function refs(value, out) {
  if (typeof value === 'string') out.add(value);
  else if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => refs(v, out));
  return out;
}

function buildExamples() {
  const dir = path.join(root, 'flows');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const byFile = new Map(files.map((f) => [f, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))]));
  // Configuration nodes: nodes outside any tab (no z), other than the tabs themselves.
  const config = new Map();
  for (const nodes of byFile.values()) {
    for (const n of nodes) if (!n.z && n.type !== 'tab') config.set(n.id, n);
  }
  const out = path.join(root, 'examples');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  for (const [file, nodes] of byFile) {
    const name = EXAMPLES[file];
    if (!name) throw new Error(`flows/${file} has no example name in scripts/copy-assets.js`);
    const have = new Set(nodes.map((n) => n.id));
    const example = [...nodes];
    // The configuration nodes it uses, and those they use in turn (ui-group → ui-page → ui-base).
    for (let i = 0; i < example.length; i++) {
      const { id: _id, wires: _w, links: _l, ...props } = example[i];
      for (const id of refs(props, new Set())) {
        if (config.has(id) && !have.has(id)) {
          have.add(id);
          example.push(config.get(id));
        }
      }
    }
    // The launcher gives the broker session a client id of its own (WPT_MQTT_CLIENT_ID); an
    // example in a stock Node-RED carries a fixed one, so its persistent session is resumed.
    const text = JSON.stringify(example, null, 2).replace(
      /"\$\{WPT_MQTT_CLIENT_ID\}"/g,
      '"wpt-dlm-orchestrator"',
    );
    fs.writeFileSync(path.join(out, name), text + '\n');
  }
  return files.length;
}

const nodeAssets = copyTree(
  path.join(root, 'nodes'),
  path.join(root, 'dist', 'nodes'),
  (f) => !f.endsWith('.ts'),
);
const examples = buildExamples();
// The broker's default ACL (one file for Mosquitto and the embedded broker).
fs.mkdirSync(path.join(root, 'dist', 'runtime'), { recursive: true });
fs.copyFileSync(
  path.join(root, 'docker', 'mosquitto', 'aclfile'),
  path.join(root, 'dist', 'runtime', 'aclfile'),
);
fs.writeFileSync(path.join(root, 'dist', '.build-stamp'), new Date().toISOString() + '\n');
console.log(`copied ${nodeAssets} node assets to dist/nodes and built ${examples} examples`);
