// Container health check (docker/Dockerfile HEALTHCHECK): GET /api/health on the app's
// port with Node's own fetch (no curl in the image). Exit 0 when it answers 2xx, else 1.
/* global fetch, AbortSignal */
'use strict';
const port = process.env.PORT || '1880';
fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(4000) })
  .then((r) => process.exit(r.ok ? 0 : 1))
  .catch(() => process.exit(1));
