// wpt-recommender: where should this vehicle charge? Input msg.payload
// {latitude, longitude, battery_level, vehicle_id?, target_soc?, battery_capacity_kwh?, limit?};
// output msg.payload {best, alternatives} and msg.statusCode (200, 400 with the fields, 404
// with the reason), ready for `http response`.
import type { Node, NodeAPI, NodeMessageInFlow, Props } from '../lib/node-red';
import type { FleetNode } from '../lib/config-nodes';
import { configNode, num } from '../lib/node-red';
import { nodeStatus, compact } from '../lib/status';
import { apiGuard, respond } from '../lib/api-guard';
import {
  DEFAULT_REC_CONFIG,
  recHubsFromTwin,
  recommend,
  validateRecRequest,
  withVehicleProfile,
  type RecConfig,
  type RecHub,
} from '../../core/recommend';
import { badRequest, notFound, ok } from '../lib/api';

export = function register(RED: NodeAPI): void {
  function WptRecommenderNode(this: Node, def: Props): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const fleet = configNode<FleetNode>(RED, def.fleet);
    const guard = apiGuard(RED, def, { jsonBody: true });
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
    const status = nodeStatus(node, () => ({
      fill: 'green',
      shape: 'dot',
      text: RED._('wpt-recommender.status.counts', {
        answered: compact(answered),
        notFound: compact(notFoundCount),
      }),
    }));

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const denied = guard.check(msg);
      if (denied) {
        send(respond(msg, denied.response, denied.headers));
        return done();
      }
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
        if (parsed.value.vehicle_id && !vehicle) {
          notFoundCount++;
          answered++;
          status.refresh();
          send(
            respond(
              msg,
              notFound(
                `vehicle_id: vehicle ${parsed.value.vehicle_id} is unknown (register it with POST /api/vehicles)`,
              ),
            ),
          );
          return done();
        }
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
      status.refresh();
      send(respond(msg, r));
      done();
    });
    node.on('close', () => status.stop());
  }
  RED.nodes.registerType('wpt-recommender', WptRecommenderNode);
};
