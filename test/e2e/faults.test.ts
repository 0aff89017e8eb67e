// Fault tests (issue 9, item 7): the real launcher against a Mosquitto and a PostgreSQL proxy
// that the tests stop and start themselves, with a simulated fleet of 3 hubs × 4 pads of 50 kW
// on 110 kW (pads drawing 60 % / 97 % / 60 % of their limit; hubs apply every DLM event they
// receive, in order, at 0.001 kW, and echo the applied limit in telemetry 50 ms later) and the
// drivers' app asking for a free pad about once a second. A pad charges only once its hub got a
// limit above 0 for it (helpers/fault-fleet.ts): a request the orchestrator lost stays unanswered.
// The faults: the broker restarted (3 s, 15 s), the app killed (kill -9) right after a DLM event,
// the app killed while PostgreSQL is away, PostgreSQL away 30 s, a hub's connection dropped 2 s
// while decreases are in flight. Each test asserts that nothing acknowledged is lost and that Σ
// of the limits ≤ C at every message, as the hubs applied them and as the broker delivered them
// (in order, no losses), and prints its numbers. Waits are on conditions; fixed waits are the
// faults' own durations.
import { FaultFleet, type RequestRecord } from '../helpers/fault-fleet';
import {
  answeredIn,
  commandKey,
  conclude,
  report,
  describeRequest,
  resent,
  resyncRegressions,
  showEvent,
  tail,
  verify,
} from '../helpers/fault-checks';
import { mosquittoBinary } from '../helpers/mosquitto';
import { poll, sleep, until } from '../helpers/wait';

describe('e2e: faults — broker restart, app kill -9, PostgreSQL outage, hub disconnect', function () {
  this.timeout(240_000);
  let fleet: FaultFleet | undefined;

  before(function () {
    if (!mosquittoBinary()) {
      console.log('      (mosquitto is not installed: fault tests skipped; apt-get install mosquitto)');
      this.skip();
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && fleet && !fleet.concluded) {
      // failed on the way (a condition never held): the numbers so far and what it saw
      console.log(report(fleet));
      console.log(`      (what the test saw: ${fleet.dump()})`);
    }
    await fleet?.stop();
    fleet = undefined;
  });

  it('broker restart (down 3 s, then 15 s; persistence): every acknowledged request gets its event, Σ ≤ C at every message', async () => {
    const started = Date.now();
    fleet = new FaultFleet({ prefix: 'brk_' });
    await fleet.start();
    const f = fleet;
    f.phase = 'steady';
    f.startRequests(1000);
    await until(() => answeredIn(f, 'steady') >= 6, 60_000, 'six requests answered before the faults');
    const numbers: Record<string, unknown> = {};
    for (const downS of [3, 15]) {
      f.phase = `broker down ${downS} s`;
      const before = f.events.length;
      const t0 = Date.now();
      await f.mosquitto.halt();
      await f.hubProxy.close();
      await sleep(downS * 1000); // the outage
      await f.mosquitto.start();
      const back = Date.now();
      // The hubs come back after the requests sent meanwhile reached the broker (devices on
      // slow links reconnect last): deterministic order, the app's view of them is stale.
      const phase = f.phase;
      await until(
        () => f.requests.filter((r) => r.phase === phase).every((r) => r.ackedAt !== null),
        30_000,
        'the requests sent during the outage acknowledged',
      );
      const acked = Date.now();
      await f.hubProxy.open();
      f.phase = `after ${downS} s down`;
      await until(
        () => answeredIn(f, f.phase) >= 4,
        90_000,
        `requests answered after the ${downS} s outage`,
        {
          detail: () => tail(f, 30),
        },
      );
      const firstAfter = f.events.slice(before).find((e) => e.at >= back);
      numbers[`outage ${downS} s`] =
        `down ${back - t0} ms; its requests acknowledged ${acked - back} ms after it was back, then the hubs; ` +
        `first event ${firstAfter ? firstAfter.at - back : '–'} ms after the broker was back; ` +
        `RESYNC events ${f.events.slice(before).filter((e) => e.reason === 'RESYNC').length}`;
    }
    const { problems, stored } = await verify(f);
    const during = f.requests.filter((r) => r.phase.startsWith('broker down'));
    if (during.length < 6) problems.push(`only ${during.length} requests sent while the broker was down`);
    conclude(f, problems, stored, {
      ...numbers,
      'dlm_events rows': stored.rows,
      'test duration': `${Date.now() - started} ms`,
    });
  });

  it('app kill -9 right after a DLM event, started again on the same user dir and database: nothing acknowledged lost, every delivered event stored, no RESYNC to an older limit', async () => {
    const started = Date.now();
    fleet = new FaultFleet({ prefix: 'kill_' });
    await fleet.start();
    const f = fleet;
    f.phase = 'steady';
    f.startRequests(1000);
    await until(() => answeredIn(f, 'steady') >= 6, 60_000, 'six requests answered before the kill');
    // The kill lands in the same turn as a DLM event reaches the broker's other subscriber
    // (issue 9: a kill 20 ms after a publish lost delivered events).
    const last = await f.nextEvent();
    const killedAt = await f.killApp();
    f.phase = 'app down';
    await sleep(5000); // the app stays down 5 s, then starts (in a few seconds more)
    f.phase = 'app starting';
    const restartAt = Date.now();
    await f.startApp();
    const upAt = Date.now();
    f.phase = 'after restart';
    await until(() => answeredIn(f, 'after restart') >= 4, 90_000, 'requests answered after the restart', {
      detail: () => tail(f, 30),
    });
    const { problems, stored } = await verify(f);
    const whileDown = f.requests.filter((r) => r.ackedAt !== null && r.ackedAt < upAt && r.sentAt > killedAt);
    if (whileDown.length < 3)
      problems.push(`only ${whileDown.length} requests acknowledged while the app was down`);
    conclude(f, problems, stored, {
      'killed after': `${showEvent(last)}, signal ${killedAt - last.at} ms after its delivery`,
      'app down': `${restartAt - killedAt} ms, then ${upAt - restartAt} ms to healthy; ${whileDown.length} requests acknowledged meanwhile`,
      'dlm_events rows': stored.rows,
      'test duration': `${Date.now() - started} ms`,
    });
  });

  it('app kill -9 while PostgreSQL is down (what it had not written dies with it), started again once the database is back: Σ ≤ C at every message, nothing acknowledged lost', async () => {
    const started = Date.now();
    fleet = new FaultFleet({ prefix: 'kpg_' });
    await fleet.start();
    const f = fleet;
    const [hub, ...others] = f.hubIds as [string, ...string[]];
    const limit = (n: string) => f.asHub.limitKw(hub, n) ?? 0;
    f.phase = 'steady';
    f.startRequests(1000, others);
    // At `hub`: two short sessions at node_01 and node_02 (50 kW each), stored.
    const early = [await f.requestWhenFree(hub, 78, 'node_01'), await f.requestWhenFree(hub, 78, 'node_02')];
    await until(() => early.every((r) => r.pluggedAt !== null), 30_000, 'node_01 and node_02 charging');
    const db = await f.db();
    try {
      await until(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM dlm_events WHERE source = 'orchestrator' AND hub_id = $1 AND new_limit = 50
                  AND node_id IN ('node_01', 'node_02')`,
              [hub],
            )
          ).rowCount === 2,
        15_000,
        'their limits stored',
      );
    } finally {
      await db.end();
    }
    // The database goes away; both sessions end (0 kW) and two long ones start at node_03 and
    // node_04 (50 kW each): none of it can be stored.
    f.phase = 'PostgreSQL down';
    const t0 = Date.now();
    await f.pgProxy.close();
    await until(() => limit('node_01') === 0 && limit('node_02') === 0, 60_000, 'the short sessions over');
    const late = [await f.requestWhenFree(hub, 30, 'node_03'), await f.requestWhenFree(hub, 30, 'node_04')];
    await until(
      () => late.every((r) => r.pluggedAt !== null) && limit('node_03') === 50 && limit('node_04') === 50,
      30_000,
      'node_03 and node_04 at 50 kW',
    );
    await until(() => f.sim.model.nextDueMs() === null, 5000, 'their limits echoed');
    const killedAt = await f.killApp();
    f.phase = 'app down';
    await sleep(3000); // the app stays down 3 s; the database comes back, then the app
    await f.pgProxy.open();
    const dbBackAt = Date.now();
    f.phase = 'app starting';
    await f.startApp();
    const upAt = Date.now();
    f.phase = 'after restart';
    await until(() => answeredIn(f, 'after restart') >= 4, 90_000, 'requests answered after the restart', {
      detail: () => tail(f, 30),
    });
    const { problems, stored } = await verify(f, { stored: false });
    conclude(f, problems, stored, {
      'PostgreSQL down': `${dbBackAt - t0} ms; the app killed ${killedAt - t0} ms into it`,
      'app down': `${dbBackAt - killedAt} ms, then ${upAt - dbBackAt} ms to healthy`,
      'events delivered, not in dlm_events (died with the process)':
        stored.missing.length + stored.echoOnly.length,
      'RESYNCs to an older limit': resyncRegressions(f.events, stored.commands).length,
      [`max Σ at ${hub}`]: `${Math.max(...f.asHub.samples(hub).map((x) => x.sumKw)).toFixed(3)} kW`,
      'test duration': `${Date.now() - started} ms`,
    });
  });

  it('PostgreSQL outage (proxy down 30 s): the DLM keeps working; sessions, node states and DLM events all stored once it is back', async () => {
    const started = Date.now();
    fleet = new FaultFleet({ prefix: 'pg_' });
    await fleet.start();
    const f = fleet;
    f.phase = 'steady';
    f.startRequests(1000);
    await until(() => answeredIn(f, 'steady') >= 6, 60_000, 'six requests answered before the outage');
    f.phase = 'PostgreSQL down';
    const t0 = Date.now();
    await f.pgProxy.close();
    await sleep(30_000); // the outage
    const reopenAt = Date.now();
    // The DLM kept working: requests sent early enough in the outage were answered within it.
    const during = f.requests.filter((r) => r.phase === 'PostgreSQL down');
    const early = during.filter((r) => r.sentAt < reopenAt - 5000);
    const lateInOutage = early.filter((r) => r.answeredAt === null || r.answeredAt > reopenAt);
    await f.pgProxy.open();
    f.phase = 'after PostgreSQL back';
    await until(() => answeredIn(f, f.phase) >= 4, 60_000, 'requests answered after the outage');
    const { problems, stored } = await verify(f);
    if (early.length < 15) problems.push(`only ${early.length} requests sent during the outage`);
    if (lateInOutage.length)
      problems.push(
        `requests not answered while PostgreSQL was away:\n  ${lateInOutage.map(describeRequest).join('\n  ')}`,
      );
    // Every session over: each vehicle that charged has its session, closed, at its pad; every
    // node's state is the hub's.
    await f.waitIdle(60_000);
    const plugged = f.requests.filter((r) => r.pluggedAt !== null);
    const db = await f.db();
    try {
      type SessionRow = { vehicle_id: string; hub_id: string; node_id: string; end_time: Date | null };
      type NodeRow = { hub_id: string; node_id: string; state: string; current_vehicle_id: string | null };
      const sessionsOk = (rows: SessionRow[]) =>
        plugged.every((r) =>
          rows.some(
            (x) =>
              x.vehicle_id === r.vehicleId &&
              x.hub_id === r.hubId &&
              x.node_id === r.nodeId &&
              x.end_time !== null,
          ),
        ) && rows.length === plugged.length;
      const sessions = await poll(
        async () =>
          (await db.query<SessionRow>('SELECT vehicle_id, hub_id, node_id, end_time FROM charging_sessions'))
            .rows,
        sessionsOk,
        30_000,
        250,
      );
      if (!sessionsOk(sessions))
        problems.push(
          `charging_sessions: ${sessions.length} rows, ${plugged.length} sessions ran; missing or open: ` +
            JSON.stringify(
              plugged
                .filter((r) => !sessions.some((x) => x.vehicle_id === r.vehicleId && x.end_time !== null))
                .map((r) => r.vehicleId),
            ),
        );
      const nodesOk = (rows: NodeRow[]) =>
        rows.length === f.hubIds.length * f.nodeIds.length &&
        rows.every(
          (x) => x.state === f.sim.model.node(x.hub_id, x.node_id).state && x.current_vehicle_id === null,
        );
      const nodes = await poll(
        async () =>
          (await db.query<NodeRow>('SELECT hub_id, node_id, state, current_vehicle_id FROM nodes')).rows,
        nodesOk,
        30_000,
        250,
      );
      if (!nodesOk(nodes)) problems.push(`nodes table differs from the hubs: ${JSON.stringify(nodes)}`);
      conclude(f, problems, stored, {
        outage: `${reopenAt - t0} ms; requests sent during it ${during.length}, answered during it ${during.filter((r) => r.answeredAt !== null && r.answeredAt <= reopenAt).length}`,
        sessions: `${plugged.length} ran, ${sessions.length} rows in charging_sessions`,
        'dlm_events rows': stored.rows,
        'test duration': `${Date.now() - started} ms`,
      });
    } finally {
      await db.end();
    }
  });

  it('hub disconnect (2 s) while decreases are in flight, pads drawing 60 % and 97 %: the hub never sees Σ > C, the lost decreases are re-sent under the same allocation', async () => {
    const started = Date.now();
    fleet = new FaultFleet({ prefix: 'drop_' });
    await fleet.start();
    const f = fleet;
    const [h60, h97, other] = f.hubIds as [string, string, string];
    f.phase = 'before the drop';
    f.startRequests(1000, [other]);
    // Three long sessions (SoC 30 %) at each of the two hubs share the 110 kW.
    const setup: RequestRecord[] = [];
    for (const h of [h60, h97]) for (let i = 0; i < 3; i++) setup.push(await f.requestWhenFree(h, 30));
    await until(
      () =>
        setup.every((r) => r.pluggedAt !== null) &&
        [h60, h97].every((h) => f.asHub.sumKw(h) > f.capacityKw - 0.003 - 1e-9) &&
        f.sim.model.nextDueMs() === null,
      30_000,
      'three pads charging at each hub, Σ of their limits at C, echoed',
      { detail: () => [h60, h97].map((h) => f.nodeIds.map((n) => f.asHub.limitKw(h, n))) },
    );
    // The fault: both hubs lose their connection, then a fourth vehicle asks at each: the
    // decreases making room for it go out while the hub is away (clean session: lost).
    f.phase = 'hub away';
    const drops = [h60, h97].map((h) => f.sim.dropConnection(h, 2000));
    await until(() => !f.sim.linkUp(h60) && !f.sim.linkUp(h97), 5000, 'both hubs disconnected');
    const from = f.events.length;
    const cutAt = Date.now();
    const fourth = [await f.requestWhenFree(h60, 30), await f.requestWhenFree(h97, 30)];
    const decreasesOf = (h: string) =>
      f.events.slice(from).filter((e) => e.hubId === h && e.newKw < e.originalKw && e.reason !== 'RESYNC');
    await until(
      () => [h60, h97].every((h) => decreasesOf(h).length >= 3),
      10_000,
      'the decreases published while the hubs are away',
    );
    await Promise.all(drops);
    const backAt = Date.now();
    f.phase = 'hub back';
    await until(
      () => fourth.every((r) => r.answeredAt !== null),
      60_000,
      'the fourth pad of each hub gets its limit',
    );
    // The hubs caught up: each pad at the limit the DLM last published for it, all four powered.
    const caughtUp = () =>
      [h60, h97].every((h) =>
        f.nodeIds.every(
          (n) => (f.asHub.limitKw(h, n) ?? 0) > 0 && f.asHub.limitKw(h, n) === f.watch.limitKw(h, n),
        ),
      );
    await until(caughtUp, 30_000, 'the hubs at the limits last published', {
      detail: () =>
        [h60, h97].map((h) => f.nodeIds.map((n) => [f.asHub.limitKw(h, n), f.watch.limitKw(h, n)])),
    });
    const { problems, stored } = await verify(f);
    const numbers: Record<string, unknown> = {};
    for (const h of [h60, h97]) {
      const first = decreasesOf(h).filter((e) => e.at < backAt);
      if (first.length < 3)
        problems.push(`${h}: ${first.length} decreases sent while the hub was away, expected 3`);
      const again = resent(f.events.slice(from));
      const resends = first.map((e) => again.get(commandKey(e)) ?? []);
      const notResent = first.filter((_, i) => !resends[i]!.some((x) => x.at > backAt));
      if (notResent.length)
        problems.push(
          `${h}: decreases lost at the hub and never re-sent after it was back: ${notResent.map(showEvent).join('; ')}`,
        );
      const rows = stored.commands.filter(
        (c) =>
          c.hubId === h &&
          first.some((e) => e.nodeId === c.nodeId && c.tsMs >= e.tsMs && Math.abs(c.newKw - e.newKw) < 1e-6),
      );
      const resentAt = resends
        .flat()
        .filter((x) => x.at > backAt)
        .map((x) => x.at - cutAt);
      numbers[`${h} (draw ${h === h60 ? 60 : 97} %)`] =
        `decreases sent while away ${first.length}, sent again ${resends.flat().length - first.length} times ` +
        `(${resentAt.length ? Math.min(...resentAt) : '–'} ms after the cut, hub back after ${backAt - cutAt} ms; ${rows.length} rows in dlm_events), ` +
        `fourth pad's limit ${f.requests.find((r) => r === fourth[h === h60 ? 0 : 1])!.answeredAt! - cutAt} ms after the cut, ` +
        `max Σ at the hub ${Math.max(...f.asHub.samples(h).map((x) => x.sumKw)).toFixed(3)} kW`;
    }
    conclude(f, problems, stored, {
      ...numbers,
      'dlm_events rows': stored.rows,
      'test duration': `${Date.now() - started} ms`,
    });
  });
});
