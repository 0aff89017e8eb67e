// Benchmark: points/s written end to end to an InfluxDB v2 write API from generated node
// telemetry, through point mapping + InfluxWriter, with the loss counted at the server.
//
//   npx tsx bench/influx.ts [--points 200000] [--batch 5000] [--hubs 100] [--nodes 10]
//   node dist/bench/influx.js …         (after npm run build)
//
// Uses INFLUX_URL when set (it must also answer VictoriaMetrics' /api/v1/export to count
// what was stored), else starts /usr/bin/victoria-metrics on a free port in a temp dir.
// Target: ≥ 20,000 points/s with 0 loss.
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { InfluxWriter, nodeTelemetryPoint, type InfluxPoint } from '../adapters/influx';
import { startVictoriaMetrics, storedSamples } from '../test/helpers/victoria';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : def;
}

async function main(): Promise<void> {
  const total = arg('points', 200_000);
  const batchSize = arg('batch', 5000);
  const hubs = arg('hubs', 100);
  const nodes = arg('nodes', 10);
  const vm = process.env.INFLUX_URL ? null : await startVictoriaMetrics();
  const url = process.env.INFLUX_URL ?? (vm as { url: string }).url;
  const run = `b${crypto.randomBytes(3).toString('hex')}`;
  try {
    const writer = new InfluxWriter({
      url,
      org: process.env.INFLUX_ORG ?? 'wpt',
      bucket: process.env.INFLUX_BUCKET ?? 'wpt',
      token: process.env.INFLUX_TOKEN,
      batchSize,
      flushIntervalMs: 100,
      maxBufferPoints: Math.max(100_000, batchSize * 4),
    });
    const t0 = Date.now() - 3_600_000; // an hour ago, 2 s per reading and node, like the devices
    const perRound = hubs * nodes;
    const start = process.hrtime.bigint();
    let generated = 0;
    let mapNs = 0n;
    while (generated < total) {
      const round = Math.floor(generated / perRound);
      const chunk: Array<InfluxPoint | null> = [];
      const m0 = process.hrtime.bigint();
      for (let k = 0; k < perRound && generated < total; k++, generated++) {
        const h = k % hubs;
        const n = Math.floor(k / hubs);
        chunk.push(
          nodeTelemetryPoint({
            hubId: `${run}_hub_${h}`,
            nodeId: `node_${n}`,
            ts: t0 + round * 2000 + k * 0.001,
            data: {
              voltage: 400 + (k % 7),
              current: 100 + (k % 13) / 10,
              power_kw: 40 + ((round + k) % 38),
              power_limit_kw: 78,
              is_occupied: (k + round) % 3 !== 0,
              connected_vehicle_id: `vehicle_${h}_${n}`,
              current_vehicle_soc: (round + k) % 100,
            },
          }),
        );
      }
      mapNs += process.hrtime.bigint() - m0;
      writer.write(chunk);
      // let the writer's requests run while we generate, without unbounded buffering
      while (writer.stats().buffered > batchSize * 2) await new Promise((r) => setImmediate(r));
    }
    await writer.flush(60_000);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const stats = await writer.close(10_000);
    const stored = await storedSamples(url, `node_telemetry_power_kw{hub_id=~"${run}_hub_.*"}`);
    const cpu = os.cpus();
    console.log('bench/influx: node telemetry -> point mapping -> InfluxWriter -> /api/v2/write');
    console.log(
      `  machine : ${cpu[0]?.model ?? 'unknown'} x${cpu.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`,
    );
    console.log(
      `  server  : ${process.env.INFLUX_URL ? url : 'VictoriaMetrics (local, started by the bench)'}`,
    );
    console.log(
      `  command : ${[path.basename(process.argv0), path.relative(process.cwd(), process.argv[1] ?? ''), ...process.argv.slice(2)].join(' ')}`,
    );
    console.log(`  points  : ${total} (${hubs} hubs x ${nodes} nodes, 7 fields each), batch ${batchSize}`);
    console.log(
      `  time    : ${secs.toFixed(2)} s end to end; mapping alone ${(Number(mapNs) / 1e6).toFixed(0)} ms`,
    );
    console.log(`  rate    : ${Math.round(total / secs)} points/s (target >= 20000)`);
    console.log(
      `  writer  : written ${stats.written}, dropped ${stats.dropped}, retries ${stats.retries}, invalid ${stats.invalid}`,
    );
    console.log(`  server  : ${stored} points stored; loss ${total - stored}`);
    if (stored !== total || stats.dropped !== 0) process.exitCode = 1;
  } finally {
    if (vm) await vm.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
