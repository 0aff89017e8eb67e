/** Scripted events (FleetOptions.script): checked against the fleet, run at their time. */
import { arrive } from './arrivals';
import { clearFault, faultPad, setCapacity } from './faults';
import type { ScriptStep } from './options';
import { hubOf, padOf, vehicleOf, type FleetState } from './state';

/** Throws a RangeError when a step names a hub, pad or vehicle the fleet does not have. */
export function checkScriptTargets(s: FleetState): void {
  s.cfg.script.forEach((step, i) => {
    try {
      hubOf(s, step.hubId);
      if (step.action !== 'capacity' && step.nodeId !== undefined) padOf(s, step.hubId, step.nodeId);
      if (step.action === 'plugIn' && step.vehicleId !== undefined) vehicleOf(s, step.vehicleId);
    } catch (err) {
      throw new RangeError(`script[${i}]: ${(err as Error).message}`, { cause: err });
    }
  });
}

export function runScriptStep(s: FleetState, step: ScriptStep, t: number): void {
  s.stats.scriptSteps++;
  const hub = hubOf(s, step.hubId);
  let done = true;
  switch (step.action) {
    case 'plugIn':
      done = arrive(s, hub, step, t) !== null;
      break;
    case 'capacity':
      setCapacity(s, hub, step.kw, t);
      break;
    case 'fault':
      faultPad(s, padOf(s, hub.id, step.nodeId), step.errorCode ?? 1001, t);
      break;
    case 'clearFault':
      done = clearFault(s, padOf(s, hub.id, step.nodeId), t);
      break;
  }
  if (!done) s.stats.scriptMissed++;
}
