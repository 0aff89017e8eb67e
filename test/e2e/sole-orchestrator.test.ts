// Two single instances on one database by mistake (cluster mode off): the second finds the
// first's sole-orchestrator lock, says who holds it and allocates nothing — no DLM event of
// its own, so no "another orchestrator publishes DLM events" alarm anywhere; it refuses
// operator commands and follows the first's (maintenance); when the first is
// killed (kill -9) the second takes over: the limits stored by the first restored, the hub
// re-sent its limits (RESYNC), the sum of its limits never above its capacity.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startRuntime, type RuntimeHandle } from '../helpers/runtime';
import { startEchoHub, type EchoHub } from '../helpers/echo-hub';
import { createTestDatabase, mqttUrl } from '../helpers/services';
import { sleep, until } from '../helpers/wait';

describe('e2e: one orchestrator per database (the sole-orchestrator lock)', function () {
  this.timeout(180000);
  const runtimes: RuntimeHandle[] = [];
  let echo: EchoHub | undefined;

  after(async () => {
    await echo?.close();
    await Promise.all(runtimes.map((r) => r.stop()));
    for (const r of runtimes) fs.rmSync(r.userDir, { recursive: true, force: true });
  });

  it('a second single instance on the database stands by, and takes over within seconds of a kill -9', async () => {
    // The broker and the database outlive either runtime (neither uses its embedded ones).
    const env = { MQTT_URL: await mqttUrl(), DATABASE_URL: await createTestDatabase('wpt_sole') };
    const first = await startRuntime({ env });
    runtimes.push(first);
    const second = await startRuntime({ env });
    runtimes.push(second);
    const standby = /another orchestrator uses this database \(wpt-dlm \S+ pid \d+ from \S+ since [^)]+\)/;
    await until(() => standby.test(second.output()), 20000, 'the second says it stands by');
    assert.doesNotMatch(first.output(), /another orchestrator uses this database/);

    const hub = `sole_${process.pid}`;
    const capacity = 100;
    echo = await startEchoHub(env.MQTT_URL, hub, { capacityKw: capacity, nodes: { p1: 50, p2: 50, p3: 50 } });
    const api = (rt: RuntimeHandle, method: string, path: string, body?: object) =>
      fetch(`${rt.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${rt.apiToken}`, 'Content-Type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const maintenanceAt = async (rt: RuntimeHandle, nodeId: string): Promise<boolean | undefined> => {
      const h = (await (await api(rt, 'GET', `/api/hubs/${hub}`)).json()) as {
        nodes?: Array<{ node_id: string; operator_maintenance: boolean }>;
      };
      return h.nodes?.find((n) => n.node_id === nodeId)?.operator_maintenance;
    };
    const sum = (): number => [...echo!.limits.values()].reduce((a, b) => a + b, 0);
    let worst = 0;
    let watch: ReturnType<typeof setInterval> | undefined;
    try {
      await echo.charge('p1', `sv1_${process.pid}`, 30);
      await echo.charge('p2', `sv2_${process.pid}`, 60);
      await until(
        () => sum() <= capacity && echo!.limits.get('p1')! > 0 && echo!.limits.get('p2')! > 0,
        30000,
        'the first allocates the hub',
        { every: 100, detail: () => [...echo!.limits] },
      );
      // From here on (the pads booted at their maximum, above the capacity, until the first allocation).
      watch = setInterval(() => (worst = Math.max(worst, sum())), 20);
      // Long enough for a second allocator to have published and either one to have noticed.
      await sleep(4000);
      const foreign = /another orchestrator publishes DLM events/;
      assert.doesNotMatch(second.output(), foreign);
      assert.doesNotMatch(first.output(), foreign, 'the standby published nothing');

      // Operator commands belong to the instance that allocates: the standby refuses them, saying
      // so, and follows those the holder takes (it allocates with them when it takes over).
      const role = async (rt: RuntimeHandle) =>
        ((await (await fetch(`${rt.url}/api/health`)).json()) as { role?: string }).role;
      assert.deepEqual([await role(first), await role(second)], ['active', 'standby']);
      const refused = await api(second, 'PUT', `/api/nodes/${hub}/p1/maintenance`, { maintenance: true });
      assert.equal(refused.status, 409);
      assert.match(
        await refused.text(),
        /this instance is a standby: another orchestrator uses this database/,
      );
      assert.equal(
        (await api(first, 'PUT', `/api/nodes/${hub}/p2/maintenance`, { maintenance: true })).status,
        200,
      );
      await until(
        async () => (await maintenanceAt(second, 'p2')) === true,
        10000,
        'the standby follows the command',
      );
      assert.equal(await maintenanceAt(second, 'p1'), false, 'the refused command changed nothing');
      await until(() => echo!.limits.get('p2') === 0, 10000, 'p2 in maintenance at 0 kW');

      const before = echo.events.length;
      const killedAt = Date.now();
      await first.stop('SIGKILL');
      await until(() => /this instance took over/.test(second.output()), 20000, 'the second takes over');
      const tookOverMs = Date.now() - killedAt;
      await until(
        () => echo!.events.slice(before).some((e) => e.trigger_reason === 'RESYNC'),
        20000,
        'the hub is re-sent its limits by the new orchestrator',
        { every: 100, detail: () => echo!.events.slice(before) },
      );
      const resyncMs = Date.now() - killedAt;
      console.log(`      (took over ${tookOverMs} ms after the kill; first RESYNC at ${resyncMs} ms)`);
      assert.ok(tookOverMs <= 10000, `took over after ${tookOverMs} ms`);
      // It keeps allocating: a third vehicle gets power, the hub stays within its capacity.
      await echo.charge('p3', `sv3_${process.pid}`, 10);
      await until(
        () => echo!.limits.get('p3')! > 0 && sum() <= capacity,
        30000,
        'the new orchestrator allocates',
        { every: 100, detail: () => [...echo!.limits] },
      );
      assert.doesNotMatch(second.output(), foreign);
      assert.equal(echo.limits.get('p2'), 0, 'p2 stays in maintenance under the new orchestrator');
      // Commands are the new orchestrator's now.
      await until(async () => (await role(second)) === 'active', 5000, 'the health says active');
      assert.equal(
        (await api(second, 'PUT', `/api/nodes/${hub}/p2/maintenance`, { maintenance: false })).status,
        200,
      );
      await until(() => echo!.limits.get('p2')! > 0, 10000, 'p2 back in service', {
        every: 100,
        detail: () => [...echo!.limits],
      });
    } finally {
      clearInterval(watch);
    }
    assert.ok(worst <= capacity + 1e-9, `Σ limits reached ${worst} kW on a ${capacity} kW hub`);
  });
});
