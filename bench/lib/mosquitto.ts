// A Mosquitto for benches: on a free loopback port, anonymous, no persistence, unbounded queues;
// `set_tcp_nodelay` as the compose deployment's Mosquitto has it (docker/mosquitto/mosquitto.conf),
// or off (Mosquitto's default) with { noDelay: false }.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { freePort } from '../../runtime/free-port';
import { mosquittoBinary } from '../../test/helpers/mosquitto';

export interface PlainMosquitto {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startPlainMosquitto(opts: { noDelay?: boolean } = {}): Promise<PlainMosquitto> {
  const bin = mosquittoBinary();
  if (!bin) throw new Error('no mosquitto binary (apt-get install mosquitto), or set MQTT_URL');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-bench-mosq-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_queued_messages 1000000',
      'max_inflight_messages 0',
      ...(opts.noDelay === false ? [] : ['set_tcp_nodelay true']),
      'log_type error',
    ].join('\n') + '\n',
  );
  const proc = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50; i++) {
    try {
      const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 500 });
      await c.endAsync();
      return { url, pid: proc.pid, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`mosquitto did not listen on ${url}`);
}
