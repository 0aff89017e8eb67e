// Every environment variable the application reads, in one place: the README table, the
// Docker compose file and the launcher all follow this list (a test keeps them in step).

export interface EnvVar {
  name: string;
  default: string;
  description: string;
  /** Holds a secret: never printed, never written to flows. */
  secret?: boolean;
}

export const ENV_VARS: readonly EnvVar[] = [
  { name: 'PORT', default: '1880', description: 'HTTP port of the editor, the REST API and the dashboard.' },
  { name: 'WPT_HTTP_HOST', default: '0.0.0.0', description: 'Address the HTTP server binds to.' },
  {
    name: 'WPT_USER_DIR',
    default: './.node-red',
    description: 'Node-RED user dir: flows, credentials, generated secrets, embedded database data.',
  },
  {
    name: 'MQTT_URL',
    default: '(embedded broker)',
    description:
      'Broker to use, e.g. `mqtt://broker:1883` or `mqtts://…`. Unset: an in-process broker is started.',
  },
  { name: 'MQTT_USERNAME', default: '', description: 'Username for MQTT_URL.' },
  { name: 'MQTT_PASSWORD', default: '', description: 'Password for MQTT_URL.', secret: true },
  {
    name: 'WPT_MQTT_CLIENT_ID',
    default: 'wpt-dlm-<host>-<hash of the user dir>',
    description:
      "Client id of the orchestrator's broker session (persistent: requests sent while it is away are delivered when it is back). Give each orchestrator its own.",
  },
  { name: 'WPT_MQTT_PORT', default: '1883', description: 'Port of the embedded broker.' },
  {
    name: 'WPT_MQTT_BIND',
    default: '127.0.0.1',
    description:
      'Address the embedded broker binds to (loopback only unless set, e.g. `0.0.0.0`). Beyond loopback every client needs an account and the ACL applies.',
  },
  {
    name: 'WPT_MQTT_PASSWORD_FILE',
    default: '<user dir>/mqtt-passwd',
    description:
      "The embedded broker's accounts, a Mosquitto password file (`mosquitto_passwd`, or `npm run mqtt-user`). Setting it requires a login on loopback too.",
  },
  {
    name: 'WPT_MQTT_ACL_FILE',
    default: '(shipped `docker/mosquitto/aclfile`)',
    description: "The embedded broker's access rules, a Mosquitto `acl_file`.",
  },
  {
    name: 'DATABASE_URL',
    default: '(embedded PostgreSQL)',
    description: 'PostgreSQL URL, e.g. `postgres://user:pass@host:5432/wpt`. Unset: embedded PostgreSQL.',
    secret: true,
  },
  {
    name: 'INFLUX_URL',
    default: '(off)',
    description: 'InfluxDB v2 write API base URL, e.g. `http://influxdb:8086`. Unset: time series off.',
  },
  { name: 'INFLUX_TOKEN', default: '', description: 'InfluxDB API token.', secret: true },
  { name: 'INFLUX_ORG', default: 'wpt', description: 'InfluxDB organisation.' },
  { name: 'INFLUX_BUCKET', default: 'wpt', description: 'InfluxDB bucket.' },
  { name: 'WPT_ADMIN_USER', default: 'admin', description: 'Editor login user name.' },
  {
    name: 'WPT_ADMIN_PASSWORD',
    default: '(generated)',
    description:
      'Editor password. Unset (and none stored): generated, printed once the first start succeeded, only its hash kept (`npm run reset-login` makes a new one).',
    secret: true,
  },
  {
    name: 'WPT_ADMIN_PASSWORD_HASH',
    default: '',
    description: 'Editor password as a bcrypt hash (instead of WPT_ADMIN_PASSWORD).',
    secret: true,
  },
  {
    name: 'WPT_API_TOKEN',
    default: '(generated)',
    description:
      'Token required on every API route except `/api/health` (`Authorization: Bearer …` or `X-API-Key`). Unset: generated, printed once the first start succeeded.',
    secret: true,
  },
  {
    name: 'WPT_CREDENTIAL_SECRET',
    default: '(generated)',
    description:
      'Key that encrypts Node-RED credentials. Unset: generated and kept in the user dir (`.wpt-secrets.json`, with the embedded database password).',
    secret: true,
  },
  {
    name: 'WPT_COMPAT_PORT',
    default: '(off)',
    description:
      "Port of the original system's API (ORIGINAL-API.md), for its unchanged driver app and dashboard. Unset: off.",
  },
  {
    name: 'WPT_COMPAT_ALLOW',
    default: '(loopback only)',
    description:
      'Client networks admitted by the original API, e.g. `10.0.0.0/8,192.168.1.0/24` (exactly those; it then listens on every address). Others get 403.',
  },
  {
    name: 'WPT_COMPAT_TOKEN',
    default: '',
    description:
      'Token that admits an original-API client from any address (`Authorization: Bearer …`, `X-API-Key` or `?token=`), for clients that can send one.',
    secret: true,
  },
  {
    name: 'WPT_COMPAT_PUBLIC_URL',
    default: '(as the client reached it)',
    description: "Base URL the original API's QR codes point at, e.g. `http://192.168.1.10:8000`.",
  },
  {
    name: 'WPT_CLUSTER',
    default: '0',
    description:
      '`1`: cluster mode, several instances share the fleet (docs/scaling.md). Requires MQTT_URL (an external MQTT 5 broker), DATABASE_URL and WPT_INSTANCE_ID.',
  },
  {
    name: 'WPT_INSTANCE_ID',
    default: '',
    description:
      "Cluster mode: this instance's id, unique in the cluster (1–64 of `A-Za-z0-9._-`, e.g. the host name).",
  },
  {
    name: 'WPT_CLUSTER_RENEW_MS',
    default: '2000',
    description: 'Cluster mode: lease renewal period (ms).',
  },
  {
    name: 'WPT_CLUSTER_LEASE_MS',
    default: '10000',
    description:
      "Cluster mode: hub lease length (ms); a killed instance's hubs are taken over after about lease + renew.",
  },
  {
    name: 'WPT_CLUSTER_MARGIN_MS',
    default: '2000',
    description: 'Cluster mode: the owner stops publishing this long before its lease could expire (ms).',
  },
  {
    name: 'WPT_CLUSTER_PUBLISH_LATENCY_MS',
    default: '1000',
    description:
      'Cluster mode: longest time from the fence check to the DLM event reaching the broker, storage included (ms).',
  },
  {
    name: 'WPT_RESET_FLOWS',
    default: '0',
    description: '`1`: replace the user dir flows with the shipped flows at start.',
  },
  {
    name: 'WPT_LOG_LEVEL',
    default: 'info',
    description: 'Node-RED log level: fatal, error, warn, info, debug, trace.',
  },
];

export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}
