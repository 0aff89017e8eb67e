// A thin layer on the client's HTTP transport: every request it sends reports exactly one
// outcome, and none outlives the writer.
//
// The client's transport reports a timeout as an error but leaves the request (and its
// socket) open until the server answers; a request whose sending throws (an invalid
// header, say) reports nothing. Here each request gets an abort signal: an error aborts
// it (the socket is released), a throw becomes an error, and `abortAll` ends every
// request still open with an error, at once, so the writer's hooks have counted every
// line when close() returns. Below it, how the writer reads a failed request.
import {
  HttpError,
  type CommunicationObserver,
  type Headers,
  type SendOptions,
  type Transport,
} from '@influxdata/influxdb-client';

export class ClosableTransport implements Transport {
  private readonly open = new Set<(err: Error) => void>();
  readonly chunkCombiner: Transport['chunkCombiner'];

  constructor(private readonly inner: Transport) {
    this.chunkCombiner = inner.chunkCombiner;
  }

  /** Requests sent and not yet ended. */
  get pending(): number {
    return this.open.size;
  }

  send(
    path: string,
    body: string,
    options: SendOptions,
    callbacks?: Partial<CommunicationObserver<Uint8Array>>,
  ): void {
    const abort = new AbortController();
    let ended = false;
    const end = (): boolean => {
      if (ended) return false;
      ended = true;
      this.open.delete(fail);
      return true;
    };
    const fail = (err: Error): void => {
      if (!end()) return;
      abort.abort();
      callbacks?.error?.(err);
    };
    this.open.add(fail);
    const observer: Partial<CommunicationObserver<Uint8Array>> = {
      responseStarted: (headers: Headers, statusCode?: number) => {
        if (!ended) callbacks?.responseStarted?.(headers, statusCode);
      },
      next: (data: Uint8Array) => (ended ? undefined : callbacks?.next?.(data)),
      complete: () => {
        if (end()) callbacks?.complete?.();
      },
      error: fail,
    };
    try {
      this.inner.send(path, body, { ...options, signal: abort.signal }, observer);
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  request(path: string, body: unknown, options: SendOptions): Promise<unknown> {
    return this.inner.request(path, body, options);
  }

  iterate(path: string, body: unknown, options: SendOptions): AsyncIterableIterator<Uint8Array> {
    return this.inner.iterate(path, body, options);
  }

  /** Ends every open request with `err` (their error callbacks run before this returns). */
  abortAll(err: Error): void {
    for (const fail of [...this.open]) fail(err);
  }
}

/**
 * 401/403 (token), 404 (org or bucket not there yet), 408, 425, 429 and 5xx: problems an
 * operator or time can fix; the lines are kept (within the bound) meanwhile.
 */
export function retriable(status: number): boolean {
  return [401, 403, 404, 408, 425, 429].includes(status) || status >= 500;
}

/** `Retry-After` in seconds (or an HTTP date) → milliseconds; 0 when absent or unreadable. */
export function retryAfterMs(v: string | string[] | undefined): number {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return 0;
  const secs = Number(s);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : 0;
}

/** One line saying what went wrong (status and message, or error name, message and code). */
export function errorText(err: unknown): string {
  if (err instanceof HttpError) return `HTTP ${err.statusCode}: ${err.message}`.slice(0, 300);
  if (err instanceof Error) {
    const code = (err as Error & { code?: string }).code;
    const name = err.name === 'Error' ? '' : `${err.name}: `;
    return `${name}${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`;
  }
  return String(err);
}
