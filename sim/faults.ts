/**
 * Faults and changes of the hubs' situation: a pad faults or is repaired, a hub's capacity
 * changes, a hub goes offline or silent, comes back, or restarts. Every function takes the
 * fleet's time `t` (the caller advanced the fleet to it).
 */
import { inRange } from './options';
import { emitHubInfo, emitHubStatus, emitPadStatus, emitStart } from './publish';
import { notify, type FleetState, type Hub, type Pad } from './state';
import { release } from './transitions';
import { reboot } from './devices';

/** The pad faults (status `faulted` with `errorCode`); a connected vehicle stops and leaves. */
export function faultPad(s: FleetState, pad: Pad, errorCode: number, t: number): void {
  if (!Number.isInteger(errorCode) || errorCode < 1 || errorCode > 9999) {
    throw new RangeError(`errorCode must be an integer 1..9999, got ${errorCode}`);
  }
  release(s, pad, t);
  pad.state = 'faulted';
  pad.errorCode = errorCode;
  if (s.started) emitPadStatus(s, pad, t);
}

/** A faulted pad is repaired: `idle`, error code 0. False when it was not faulted. */
export function clearFault(s: FleetState, pad: Pad, t: number): boolean {
  if (pad.state !== 'faulted') return false;
  pad.state = 'idle';
  pad.errorCode = 0;
  if (s.started) emitPadStatus(s, pad, t);
  return true;
}

/** The hub's grid capacity changes; its `info` is republished (retained). */
export function setCapacity(s: FleetState, hub: Hub, kw: number, t: number): void {
  inRange('capacity', kw, 0, 1000);
  hub.capacityKw = kw;
  if (s.started) {
    emitHubInfo(s, hub);
    notify(s, { kind: 'capacity', ts: t, hubId: hub.id, capacityKw: kw });
  }
}

export function setHubOffline(s: FleetState, hub: Hub, mode: 'offline' | 'silent', t: number): void {
  if (hub.mode !== 'online') {
    hub.mode = mode;
    return;
  }
  if (mode === 'offline' && s.started) emitHubStatus(s, hub, 'offline', t);
  hub.mode = mode;
}

export function setHubOnline(s: FleetState, hub: Hub, t: number): void {
  if (hub.mode === 'online') return;
  hub.mode = 'online';
  if (s.started) emitStart(s, hub, t);
}

export function restartHub(s: FleetState, hub: Hub, t: number): void {
  reboot(s, hub, t);
}
