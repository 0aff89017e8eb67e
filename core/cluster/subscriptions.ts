/**
 * What an instance subscribes to (CONTRACT.md topics), beside the shipped flow's static
 * `mqtt in` nodes, which every instance has in both modes:
 *
 *   iot/hubs/+/+                  hub info, hub status, vehicle requests (QoS 1)
 *   iot/hubs/+/nodes/+/info       node info (QoS 1)
 *   iot/hubs/+/nodes/+/status     node status (QoS 1)
 *
 * They are small (retained info, status on change, requests) and every instance keeps them:
 * the fleet's structure, node states and requests are the same on all, so a takeover starts
 * from them, and a request sent while its hub has no owner is not lost. The high-rate rest is
 * subscribed on dynamic `mqtt in` nodes (wpt-subscriptions):
 *
 * - one instance: every hub's node telemetry and DLM events, every vehicle's telemetry;
 * - cluster mode: node telemetry and DLM events only of the hubs this instance owns
 *   (subscribed when acquired, unsubscribed when lost or released), vehicle telemetry as an
 *   MQTT shared subscription `$share/{group}/…` (each message to one instance of the group).
 *
 * Vehicle telemetry goes through a connection of its own with a clean session: a broker
 * shares a group's messages among its members' sessions, offline persistent ones included,
 * so an instance killed or retired with its session kept would go on taking (and, at QoS 0,
 * losing) its share. QoS 0 telemetry has nothing to gain from a kept session anyway.
 *
 * None of these filters overlaps another, so no broker delivers a message twice to one
 * instance (MQTT 5 allows one copy per matching subscription).
 */

export interface Subscription {
  readonly topic: string;
  readonly qos: 0 | 1;
}

/** Shared subscription group of the instances of one cluster (vehicle telemetry). */
export const DEFAULT_SHARE_GROUP = 'wpt-dlm';

/** The filters of the shipped flow's static `mqtt in` nodes (every instance, both modes). */
export const FLEET_WIDE_TOPICS: readonly string[] = Object.freeze([
  'iot/hubs/+/+',
  'iot/hubs/+/nodes/+/info',
  'iot/hubs/+/nodes/+/status',
]);

const VEHICLE_TELEMETRY = 'iot/vehicles/+/telemetry';

/** One instance: node telemetry and DLM events of every hub. */
export function singleSubscriptions(): Subscription[] {
  return [
    { topic: 'iot/hubs/+/nodes/+/telemetry', qos: 1 },
    { topic: 'iot/hubs/+/dlm/events', qos: 1 },
  ];
}

/** A valid shared subscription group name: no '/', '+' or '#', not empty. */
export function isShareGroup(group: string): boolean {
  return /^[^/+#\s]{1,64}$/.test(group);
}

/**
 * Vehicle telemetry (on the clean-session connection): every vehicle's on one instance; in
 * cluster mode (a group given) shared by the group's instances.
 */
export function vehicleSubscriptions(group?: string): Subscription[] {
  if (group === undefined) return [{ topic: VEHICLE_TELEMETRY, qos: 0 }];
  if (!isShareGroup(group))
    throw new Error(`shared subscription group "${group}": 1-64 characters, no / + # or space`);
  return [{ topic: `$share/${group}/${VEHICLE_TELEMETRY}`, qos: 0 }];
}

/** Cluster mode: the filters of one hub this instance owns. */
export function hubSubscriptions(hubId: string): Subscription[] {
  // Hub ids come from topic levels (no '/', '+' or '#'): each filter names exactly this hub.
  return [
    { topic: `iot/hubs/${hubId}/nodes/+/telemetry`, qos: 1 },
    { topic: `iot/hubs/${hubId}/dlm/events`, qos: 1 },
  ];
}
