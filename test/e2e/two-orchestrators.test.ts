// Two orchestrators on one fleet by mistake: a second runtime, not in a cluster with the first
// (its own database), on the same broker. Both allocate every hub they hear; each sees DLM
// events for its hubs that claim to be an orchestrator's and that it did not publish, and says
// so (alarm `foreign-orchestrator`, core/dlm/foreign.ts) — in its log and on the dashboard.
import fs from 'node:fs';
import { startRuntime, type RuntimeHandle } from '../helpers/runtime';
import { startEchoHub, type EchoHub } from '../helpers/echo-hub';
import { until } from '../helpers/wait';

describe('e2e: two orchestrators on one fleet are told apart', function () {
  this.timeout(180000);
  const runtimes: RuntimeHandle[] = [];
  let echo: EchoHub | undefined;

  after(async () => {
    await echo?.close();
    await Promise.all(runtimes.map((r) => r.stop()));
    for (const r of runtimes) fs.rmSync(r.userDir, { recursive: true, force: true });
  });

  it('raises "another orchestrator publishes DLM events for hub …" when both allocate one hub', async () => {
    const first = await startRuntime();
    runtimes.push(first);
    // The second uses the first's broker (the embedded one, or the environment's).
    const second = await startRuntime({ env: { MQTT_URL: first.mqttUrl } });
    runtimes.push(second);
    const hub = `two_${process.pid}`;
    echo = await startEchoHub(first.mqttUrl, hub, { capacityKw: 100, nodes: { p1: 50, p2: 50, p3: 50 } });
    await echo.charge('p1', `tv1_${process.pid}`, 30);
    await echo.charge('p2', `tv2_${process.pid}`, 60);
    const alarm = new RegExp(`another orchestrator publishes DLM events for hub ${hub}`);
    await until(() => runtimes.some((r) => alarm.test(r.output())), 60000, 'the alarm in a log', {
      every: 250,
      detail: () => echo!.events.map((e) => `${e.affected_node_id} ${e.new_limit} ${e.trigger_reason}`),
    });
  });
});
