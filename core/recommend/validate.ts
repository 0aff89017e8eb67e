/**
 * Validation of a recommendation request body (`POST /api/recommendations`, or the
 * `msg.payload` of the recommender node). Strict types (numbers must be numbers, not
 * numeric strings); unknown fields are ignored; `null` in an optional field means "not
 * given". Every broken rule is reported as `field: rule`, all at once.
 *
 * Defaults filled into the returned value: target_soc 80 (100 when battery_level ≥ 80,
 * so a vehicle above 80 % still gets an answer), battery_capacity_kwh 60, limit 3,
 * priority false.
 */
import type { RecRequest, RecValidation } from './types';

export const DEFAULT_TARGET_SOC = 80;
export const DEFAULT_BATTERY_CAPACITY_KWH = 60;
export const DEFAULT_LIMIT = 3;
export const MAX_LIMIT = 20;
export const MAX_BATTERY_CAPACITY_KWH = 1000;
export const VEHICLE_ID_MAX_LENGTH = 50;

function isNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function absent(x: unknown): boolean {
  return x === undefined || x === null;
}

/** Validates and normalises a request body. */
export function validateRecRequest(body: unknown): RecValidation {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, errors: ['body: must be a JSON object'] };
  }
  const b = body as Record<string, unknown>;
  const errors: string[] = [];

  const range = (field: string, lo: number, hi: number): number | undefined => {
    const v = b[field];
    if (absent(v)) {
      errors.push(`${field}: is required`);
      return undefined;
    }
    if (!isNumber(v) || v < lo || v > hi) {
      errors.push(`${field}: must be a number between ${lo} and ${hi}`);
      return undefined;
    }
    return v;
  };

  const latitude = range('latitude', -90, 90);
  const longitude = range('longitude', -180, 180);
  const battery = range('battery_level', 0, 100);

  let vehicleId: string | undefined;
  if (!absent(b.vehicle_id)) {
    const v = b.vehicle_id;
    if (typeof v !== 'string' || v.length < 1 || v.length > VEHICLE_ID_MAX_LENGTH) {
      errors.push(`vehicle_id: must be a string of 1-${VEHICLE_ID_MAX_LENGTH} characters`);
    } else vehicleId = v;
  }

  let target: number | undefined;
  if (!absent(b.target_soc)) {
    const v = b.target_soc;
    if (!isNumber(v) || v <= 0 || v > 100)
      errors.push('target_soc: must be a number greater than 0 and at most 100');
    else if (battery !== undefined && v <= battery)
      errors.push('target_soc: must be greater than battery_level');
    else target = v;
  } else if (battery !== undefined) {
    if (battery >= 100) errors.push('battery_level: must be below 100 (the battery is full)');
    else target = battery >= DEFAULT_TARGET_SOC ? 100 : DEFAULT_TARGET_SOC;
  }

  let capacity = DEFAULT_BATTERY_CAPACITY_KWH;
  if (!absent(b.battery_capacity_kwh)) {
    const v = b.battery_capacity_kwh;
    if (!isNumber(v) || v <= 0 || v > MAX_BATTERY_CAPACITY_KWH) {
      errors.push(
        `battery_capacity_kwh: must be a number greater than 0 and at most ${MAX_BATTERY_CAPACITY_KWH}`,
      );
    } else capacity = v;
  }

  let limit = DEFAULT_LIMIT;
  if (!absent(b.limit)) {
    const v = b.limit;
    if (!isNumber(v) || !Number.isInteger(v) || v < 0 || v > MAX_LIMIT) {
      errors.push(`limit: must be an integer between 0 and ${MAX_LIMIT}`);
    } else limit = v;
  }

  let priority = false;
  if (!absent(b.priority)) {
    if (typeof b.priority !== 'boolean') errors.push('priority: must be a boolean');
    else priority = b.priority;
  }

  if (errors.length > 0 || latitude === undefined || longitude === undefined || battery === undefined) {
    return { ok: false, errors };
  }
  const value: RecRequest = {
    latitude,
    longitude,
    battery_level: battery,
    target_soc: target as number,
    battery_capacity_kwh: capacity,
    limit,
    priority,
  };
  if (vehicleId !== undefined) value.vehicle_id = vehicleId;
  return { ok: true, value };
}
