// wpt-recommender: where should this vehicle charge? Input msg.payload
// {latitude, longitude, battery_level, vehicle_id?, target_soc?, battery_capacity_kwh?, limit?};
// output msg.payload {best, alternatives} and msg.statusCode (200, 400 with the fields, 404
// with the reason), ready for `http response`.
import type { NodeAPI, NodeDef, NodeInstance, NodeMessage } from '../lib/red';
import type { FleetNode } from '../lib/config-nodes';
import { num, statusThrottle } from '../lib/red';
import {
  DEFAULT_REC_CONFIG,
  recHubsFromTwin,
  recommend,
  validateRecRequest,
  withVehicleProfile,
  type RecConfig,
  type RecHub,
} from '../../core/recommend';
import { badRequest, notFound, ok } from '../../core/api';

export = function register(RED: NodeAPI): void {
  function WptRecommenderNode(this: NodeInstance, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fleet = RED.nodes.getNode(String(def.fleet ?? '')) as FleetNode | null;
    const cfg: RecConfig = {
      ...DEFAULT_REC_CONFIG,
      consumptionKwhPerKm: num(def.consumptionKwhPerKm, DEFAULT_REC_CONFIG.consumptionKwhPerKm),
      safetyMargin: num(def.safetyMargin, DEFAULT_REC_CONFIG.safetyMargin),
      averageSpeedKmh: num(def.averageSpeedKmh, DEFAULT_REC_CONFIG.averageSpeedKmh),
      criticalSoc: fleet?.twin.config.criticalSoc ?? DEFAULT_REC_CONFIG.criticalSoc,
      alloc: { policy: def.policy === 'equal' ? 'equal' : 'soc-priority', reserve: num(def.reserve, 0) },
      ...(num(def.maxDistanceKm, 0) > 0 ? { maxDistanceKm: num(def.maxDistanceKm, 0) } : {}),
    };
    // The fleet seen by the engine is rebuilt at most every `refreshMs` (not per request).
    const refreshMs = num(def.refreshMs, 250);
    let view: { at: number; hubs: RecHub[] } | undefined;
    let answered = 0;
    let notFoundCount = 0;
    const status = statusThrottle(node, () => ({
      fill: 'green',
      shape: 'dot',
      text: RED._('wpt-recommender.status.counts', { answered, notFound: notFoundCount }),
    }));

    node.on('input', (msg: NodeMessage, send, done) => {
      const json = { 'Content-Type': 'application/json; charset=utf-8' };
      if (!fleet) {
        done(new Error(RED._('wpt-recommender.errors.no-fleet')));
        return;
      }
      const now = Date.now();
      const parsed = validateRecRequest(msg.payload);
      let r;
      if (!parsed.ok) {
        r = badRequest(parsed.errors);
      } else {
        if (!view || now - view.at > refreshMs) {
          view = {
            at: now,
            hubs: recHubsFromTwin(fleet.twin, now, {
              defaultBatteryKwh: fleet.twin.config.defaultBatteryKwh,
              assumedTargetSoc: 80,
            }),
          };
        }
        const body = msg.payload as Record<string, unknown>;
        const vehicle = parsed.value.vehicle_id ? fleet.twin.vehicle(parsed.value.vehicle_id) : undefined;
        const res = recommend(
          view.hubs,
          withVehicleProfile(
            parsed.value,
            body.battery_capacity_kwh !== undefined && body.battery_capacity_kwh !== null,
            vehicle,
          ),
          cfg,
          now,
        );
        if (res.ok) r = ok({ best: res.best, alternatives: res.alternatives });
        else {
          notFoundCount++;
          r = notFound(res.reason);
        }
      }
      answered++;
      msg.payload = r.payload;
      msg.statusCode = r.statusCode;
      msg.headers = { ...(msg.headers as object | undefined), ...json };
      status.refresh();
      send(msg);
      done();
    });
    node.on('close', (_r: boolean, done: () => void) => {
      status.stop();
      done();
    });
  }
  RED.nodes.registerType('wpt-recommender', WptRecommenderNode);
};
