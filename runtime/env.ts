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
  { name: 'WPT_MQTT_PORT', default: '1883', description: 'Port of the embedded broker.' },
  {
    name: 'WPT_MQTT_BIND',
    default: '127.0.0.1',
    description: 'Address the embedded broker binds to (loopback only unless set, e.g. `0.0.0.0`).',
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
      'Editor password. Unset (and no hash): generated on first start, printed once, only its hash kept.',
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
      'Token required on every `/api` route except `/api/health` (`Authorization: Bearer …`). Unset: generated, printed once.',
    secret: true,
  },
  {
    name: 'WPT_CREDENTIAL_SECRET',
    default: '(generated)',
    description: 'Key that encrypts Node-RED credentials. Unset: generated and kept in the user dir.',
    secret: true,
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
