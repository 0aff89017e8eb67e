// QR codes of the nodes: each encodes this server's charge URL for the node
// (`{base}/api/nodes/{hub_id}/{node_id}/charge`), for a sticker on the pad. The REST API
// serves the PNG; the dashboard shows the same code as a data URL to print.
import QRCode from 'qrcode';

/** Pixels per module, default and bounds. */
export const QR_SCALE = { min: 1, max: 50, default: 8 } as const;

const QR_OPTIONS = {
  errorCorrectionLevel: 'M' as const,
  margin: 4,
  color: { dark: '#000000ff', light: '#ffffffff' },
};

/** The charge URL of a node on the server at `base` (scheme://host[:port][/prefix], no slash at the end). */
export function chargeUrl(base: string, hubId: string, nodeId: string): string {
  return `${base.replace(/\/+$/, '')}/api/nodes/${encodeURIComponent(hubId)}/${encodeURIComponent(nodeId)}/charge`;
}

/**
 * The server's own URL as a request reached it: its scheme (X-Forwarded-Proto only when
 * Node-RED trusts its proxy, as Express's req.protocol decides) and Host header. Null when the
 * Host header is missing or not a plain host[:port].
 */
export function baseUrlOf(req: { protocol?: unknown; headers?: Record<string, unknown> }): string | null {
  const host = req.headers?.host;
  if (typeof host !== 'string' || !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host))
    return null;
  const proto = req.protocol === 'https' ? 'https' : 'http';
  return `${proto}://${host}`;
}

/** An http(s) base URL given by a caller (`base_url`), without query or fragment; else null. */
export function parseBaseUrl(v: string): string | null {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return null;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash || u.username || u.password)
    return null;
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

export function qrPng(text: string, scale: number = QR_SCALE.default): Promise<Buffer> {
  return QRCode.toBuffer(text, { ...QR_OPTIONS, type: 'png', scale });
}

export function qrDataUrl(text: string, scale: number = QR_SCALE.default): Promise<string> {
  return QRCode.toDataURL(text, { ...QR_OPTIONS, type: 'image/png', scale });
}
