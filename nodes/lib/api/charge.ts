// POST /api/nodes/{hub_id}/{node_id}/charge {vehicle_id}: checks that the node is free and
// the vehicle known, and builds the VehicleRequest to publish (QoS 1) with the tracked SoC.
import {
  buildTopic,
  formatTimestamp,
  isValidTopicId,
  validatePayload,
  type VehicleRequest,
} from '../../../core/contract';
import type { AssignRejectReason, HubView, NodeView, VehicleView } from '../../../core/twin';
import { apiError, badRequest, notFound, type ApiResponse } from './http';

export interface ChargeTwin {
  hub(id: string): HubView | undefined;
  node(hubId: string, nodeId: string): NodeView | undefined;
  vehicle(id: string): VehicleView | undefined;
  checkAssign(hubId: string, nodeId: string, vehicleId: string, nowMs: number): AssignRejectReason | null;
}

export type ChargePlan =
  { ok: true; topic: string; request: VehicleRequest } | { ok: false; response: ApiResponse };

const REFUSALS: Record<Exclude<AssignRejectReason, 'invalid-input' | 'unknown-node'>, string> = {
  'hub-inactive': 'its hub is deactivated by an operator',
  'hub-unavailable': 'its hub is offline, in maintenance or silent',
  'hub-no-capacity': 'waiting for hub info: its hub has not sent its capacity, so nothing is allocated there',
  'limit-hubs': 'the fleet holds the most hubs allowed',
  'limit-nodes': 'the fleet holds the most nodes allowed',
  'limit-vehicles': 'the fleet holds the most vehicles allowed',
  unregistered: 'it, its hub or the vehicle is not registered',
  'node-faulted': 'it is faulted',
  'node-maintenance': 'it is in maintenance',
  'node-busy': 'it is charging another vehicle',
};

export function planChargeRequest(
  twin: ChargeTwin,
  params: { hub_id?: unknown; node_id?: unknown },
  body: unknown,
  nowMs: number,
): ChargePlan {
  const errors: string[] = [];
  const hubId = params.hub_id;
  const nodeId = params.node_id;
  if (typeof hubId !== 'string' || !isValidTopicId(hubId))
    errors.push('hub_id: must be a valid id (1-50 characters)');
  if (typeof nodeId !== 'string' || !isValidTopicId(nodeId))
    errors.push('node_id: must be a valid id (1-50 characters)');
  const b =
    body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  if (!b) errors.push('body: must be a JSON object with vehicle_id');
  const vehicleId = b?.vehicle_id;
  if (b && vehicleId === undefined) errors.push('vehicle_id: is required');
  else if (b && (typeof vehicleId !== 'string' || !isValidTopicId(vehicleId))) {
    errors.push("vehicle_id: must be 1-50 characters without '/', '+', '#'");
  }
  const socGiven = b?.soc_percent;
  if (
    socGiven !== undefined &&
    (typeof socGiven !== 'number' || !Number.isInteger(socGiven) || socGiven < 0 || socGiven > 100)
  ) {
    errors.push('soc_percent: must be an integer from 0 to 100');
  }
  if (errors.length) return { ok: false, response: badRequest(errors) };
  const h = hubId as string;
  const n = nodeId as string;
  const v = vehicleId as string;
  if (!twin.node(h, n)) return { ok: false, response: notFound(`node ${h}/${n} is unknown`) };
  const vehicle = twin.vehicle(v);
  if (!vehicle)
    return { ok: false, response: notFound(`vehicle ${v} is unknown: register it with POST /api/vehicles`) };
  const refused = twin.checkAssign(h, n, v, nowMs);
  if (refused && refused !== 'invalid-input' && refused !== 'unknown-node') {
    return {
      ok: false,
      response: apiError(409, 'conflict', `node ${h}/${n} cannot take a vehicle now: ${REFUSALS[refused]}`),
    };
  }
  const soc = (socGiven as number | undefined) ?? (vehicle.soc === null ? null : Math.round(vehicle.soc));
  if (soc === null) {
    return {
      ok: false,
      response: badRequest([`soc_percent: required, the SoC of vehicle ${v} is not known yet`]),
    };
  }
  const request = {
    vehicle_id: v,
    node_id: n,
    soc_percent: Math.min(100, Math.max(0, soc)),
    timestamp: formatTimestamp(nowMs),
  };
  const checked = validatePayload('VehicleRequest', request);
  if (!checked.ok) return { ok: false, response: badRequest(checked.errors.map((e) => e.message)) };
  return { ok: true, topic: buildTopic('vehicleRequest', { hubId: h }), request };
}
