import type { Secret } from './secret.ts';

// The configuration after loading: secrets resolved to Secret objects, files
// read, durations in seconds, statements as lists. Bodies keep Vault's field
// names so that they are sent as they are and compared field by field.

/** A Vault request body; values are JSON or Secret. */
export type Body = Record<string, unknown>;

export interface DesiredMount {
  path: string;
  type: string;
  /** description, default_lease_ttl, max_lease_ttl (seconds; 0 = system default). */
  tuning: Body;
}

export interface DesiredAudit {
  path: string;
  type: string;
  description: string;
  options: Record<string, string>;
}

export interface DesiredNamed {
  name: string;
  body: Body;
}

export interface DesiredAuth extends DesiredMount {
  type: 'kubernetes' | 'approle';
  /** auth/<path>/config of a kubernetes method. */
  config?: Body;
  roles: DesiredNamed[];
}

export interface DesiredPolicy {
  name: string;
  rules: string;
}

export interface DesiredConnection {
  name: string;
  /** plugin_name, connection_url, allowed_roles: the fields Vault reads back. */
  body: Body;
  username: string;
  password: Secret;
  verifyConnection: boolean;
  rotateRoot: boolean;
}

export interface DesiredDatabaseEngine extends DesiredMount {
  type: 'database';
  connections: DesiredConnection[];
  roles: DesiredNamed[];
}

export interface DesiredConfig {
  audit: DesiredAudit[];
  auth: DesiredAuth[];
  policies: DesiredPolicy[];
  secrets: DesiredDatabaseEngine[];
}
