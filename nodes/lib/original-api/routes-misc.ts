// The original API's service routes (root, health), the recommendation, the QR charge and
// the QR codes.
import QRCode from 'qrcode';
import { buildTopic, validatePayload } from '../../../core/contract';
import { checkBody, checkQuery } from './input';
import { detail, InternalError, ok, validationError, type Resp } from './errors';
import { isoUtc } from './json';
import { recommendOriginal } from './recommend';
import { resolveNode, type Handler } from './deps';

export const ORIGINAL_VERSION = '0.1.0';
export const ORIGINAL_SERVICE = 'WPT-DLM API';
const HOUR_MS = 3_600_000;
/** SoC the original sent when it knew none. */
export const UNKNOWN_SOC = 50;

export const root: Handler = async () =>
  ok({
    name: ORIGINAL_SERVICE,
    version: ORIGINAL_VERSION,
    description:
      'Wireless power transfer charging hubs with dynamic load management: the original API, served by WPT-DLM on Node-RED',
    docs: '/docs',
    redoc: '/redoc',
    openapi: '/openapi.json',
  });

export const health: Handler = async (_req, d) => {
  const db = await d.dbHealthy().catch(() => false);
  return ok({
    status: db ? 'healthy' : 'degraded',
    timestamp: isoUtc(d.now()),
    version: ORIGINAL_VERSION,
    service: ORIGINAL_SERVICE,
    dependencies: { database: db ? 'healthy' : 'unhealthy' },
  });
};

export const recommendations: Handler = async (req, d) => {
  if (req.bodyError) return validationError([req.bodyError]);
  const b = checkBody(req.body, {
    latitude: { kind: 'float', ge: -90, le: 90, required: true },
    longitude: { kind: 'float', ge: -180, le: 180, required: true },
    battery_level: { kind: 'int', ge: 0, le: 100, required: true },
  });
  if (!b.ok) return validationError(b.errors);
  try {
    const rec = recommendOriginal(
      d.twin,
      {
        latitude: b.value.latitude as number,
        longitude: b.value.longitude as number,
        battery_level: b.value.battery_level as number,
      },
      d.dlm,
      d.now(),
    );
    return rec ? ok(rec) : detail(404, 'No available charging stations found');
  } catch (err) {
    return detail(500, `Failed to generate recommendation: ${(err as Error).message}`);
  }
};

/**
 * POST /nodes/{node_id}/charge (the QR code's URL): publishes one VehicleRequest (QoS 1) on
 * iot/hubs/{hub_id}/requests with the vehicle's SoC (its last hour, else 50) and answers 201.
 * Nothing is written: the twin assigns the node when the request comes back from the broker,
 * and the session opens when the node reports charging.
 */
export const charge: Handler = async (req, d): Promise<Resp> => {
  const nodeId = req.params.node_id!;
  if (req.bodyError) return validationError([req.bodyError]);
  const b = checkBody(req.body, { vehicle_id: { kind: 'str', min: 1, max: 50, required: true } });
  if (!b.ok) return validationError(b.errors);
  const vehicleId = b.value.vehicle_id as string;
  const r = resolveNode(d.twin, nodeId, () => {
    throw new InternalError(`Node ${nodeId} not found`);
  });
  if (!r.ok) return r.resp;
  const v = d.twin.vehicle(vehicleId);
  if (!v) throw new InternalError(`Vehicle ${vehicleId} not found`);
  const now = d.now();
  // The last report moves on when a device repeats the same SoC (socReportedTs), the best
  // value (report or estimate) when it changes (socTs).
  const last = Math.max(v.socTs ?? -Infinity, v.socReportedTs ?? -Infinity);
  const fresh = v.soc !== null && now - last <= HOUR_MS;
  const soc = fresh ? Math.min(100, Math.max(0, Math.round(v.soc!))) : UNKNOWN_SOC;
  const request = { vehicle_id: vehicleId, node_id: nodeId, soc_percent: soc, timestamp: isoUtc(now) };
  const checked = validatePayload('VehicleRequest', request);
  if (!checked.ok)
    return validationError(
      checked.errors.map((e) => ({
        type: 'value_error',
        loc: ['body', 'vehicle_id'],
        msg: e.message,
        input: vehicleId,
      })),
    );
  const hubId = r.node.hubId;
  d.publish(buildTopic('vehicleRequest', { hubId }), request);
  return ok(
    { message: 'Charging request sent successfully', node_id: nodeId, vehicle_id: vehicleId, hub_id: hubId },
    201,
  );
};

/**
 * GET /qr/node/{node_id}: a PNG (EC level L, border 4, `size` px per module, black on white)
 * of `{base_url}/nodes/{node_id}/charge`. Without base_url: this listener's public URL.
 */
export const qrCode: Handler = async (req, d) => {
  const nodeId = req.params.node_id!;
  const q = checkQuery(req.query, {
    base_url: { kind: 'str' },
    size: { kind: 'int', ge: 1, le: 50, default: 10 },
    download: { kind: 'bool', default: true },
  });
  if (!q.ok) return validationError(q.errors);
  const base = (q.value.base_url as string | undefined) ?? d.baseUrl(req.headers);
  const png = await QRCode.toBuffer(`${base}/nodes/${nodeId}/charge`, {
    type: 'png',
    errorCorrectionLevel: 'L',
    margin: 4,
    scale: q.value.size as number,
    color: { dark: '#000000ff', light: '#ffffffff' },
  });
  const name = `qr_${nodeId}.png`.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return {
    status: 200,
    body: png,
    headers: {
      'Content-Type': 'image/png',
      'Content-Disposition': `${q.value.download ? 'attachment' : 'inline'}; filename="${name}"`,
      'Cache-Control': 'no-cache',
    },
  };
};
