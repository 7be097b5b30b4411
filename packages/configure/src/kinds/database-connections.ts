import { z } from 'zod';
import { located, unique } from '../checks.ts';
import { diffFields } from '../fields.ts';
import type { FieldSpecs } from '../fields.ts';
import { pruned } from '../kind.ts';
import type { CheckContext, MountKeys, PerMount, ResourceKind } from '../kind.ts';
import type { IssuePath } from '../locate.ts';
import { credentialsFingerprint, fingerprintMatches } from '../fingerprint.ts';
import type { Body } from '../model.ts';
import type { Action, Change, FieldChange } from '../plan-types.ts';
import { name, secretRef } from '../schema-parts.ts';
import type { Secret } from '../secret.ts';
import { listNames, readAll, readBody } from '../vault-reads.ts';
import { presentMounts } from './mounts.ts';

const CONNECTIONS = {
  section: 'secrets',
  type: 'database',
  keys: {
    connections: z
      .array(
        z.strictObject({
          name,
          plugin_name: z.string().min(1).meta({ examples: ['postgresql-database-plugin', 'mysql-database-plugin'] }),
          /** A template: credentials as {{username}} and {{password}}, never literal. */
          connection_url: z
            .string()
            .min(1)
            .meta({ examples: ['postgresql://{{username}}:{{password}}@postgres.db.svc:5432/postgres?sslmode=disable', '{{username}}:{{password}}@tcp(mysql.db.svc:3306)/'] }),
          username: z.string().min(1),
          password: secretRef,
          allowed_roles: z.array(z.string().min(1)).optional(),
          /** How Vault names the users it creates (Go template: .DisplayName, .RoleName, random, ...). */
          username_template: z.string().min(1).optional(),
          verify_connection: z.boolean().optional(),
          /** Rotate the root password once after the credentials are written: afterwards only Vault knows it. */
          rotate_root: z.boolean().optional(),
        }),
      )
      .optional(),
  },
} satisfies MountKeys;

export interface DesiredConnection {
  name: string;
  /** plugin_name, connection_url, allowed_roles, username_template: the fields Vault reads back. */
  body: Body;
  username: string;
  password: Secret;
  verifyConnection: boolean;
  rotateRoot: boolean;
}

export interface LiveConnection {
  /** plugin_name, connection_url, allowed_roles. */
  body: Body;
  /** Rotor's marker: fingerprint of the root credentials it last wrote (see fingerprint.ts). */
  credentialsFingerprint: string | undefined;
  /** Rotor's marker: root rotated since those credentials were written. */
  rootRotated: boolean;
}

const specs: FieldSpecs = {
  plugin_name: { kind: 'value', default: '' },
  connection_url: { kind: 'value', default: '' },
  allowed_roles: { kind: 'set', default: [] },
  username_template: { kind: 'value', default: '' },
};

/**
 * Rotor's marker, stored as extra keys of the connection's own
 * connection_details: Vault keeps unknown keys there, returns them on read,
 * merges them on update, keeps them through rotate-root, and drops them with
 * the connection. Database plugins ignore keys they do not know.
 */
export const MARKER_FINGERPRINT = 'rotor_credentials_fingerprint';
export const MARKER_ROTATED = 'rotor_root_rotated';

/**
 * Connections of database engines (<mount>/config/<name>).
 *
 * The root credentials are sent only when the marker's fingerprint does not
 * match the file's (new connection, or the operator changed them), so a
 * rotated password is never overwritten by the file's dead one. Rotation is
 * recorded in the marker after it succeeds; a crash in between only means the
 * next apply rotates again, which is harmless because Vault holds the current
 * password.
 */
export const databaseConnections: ResourceKind<'database-connection', 'connections', PerMount<DesiredConnection>[], Map<string, Map<string, LiveConnection>>> = {
  name: 'database-connection',
  slot: 'connections',
  schema: [CONNECTIONS],
  check(file) {
    for (const { entry: engine, at } of file.entries(CONNECTIONS)) {
      const connections = located(engine.connections, [...at, 'connections']);
      unique(connections, (c) => c.name, 'name', 'connection', file.add);
      // Roles of every kind under this engine (dynamic, static) are what allowed_roles may name.
      const roleNames = new Set(
        Object.entries(engine)
          .filter(([key, value]) => key !== 'connections' && Array.isArray(value))
          .flatMap(([, value]) => (value as { name?: unknown }[]).map((r) => r.name)),
      );
      for (const { entry: c, at: connectionAt } of connections) {
        if (PLAINTEXT_IN_URL.test(c.connection_url)) {
          file.add([...connectionAt, 'connection_url'], 'plaintext secrets are not allowed: write {{password}} in connection_url and set password: { fromEnv: NAME }');
        }
        (c.allowed_roles ?? []).forEach((r, k) => {
          if (r !== '*' && !roleNames.has(r)) file.add([...connectionAt, 'allowed_roles', k], `role "${r}" is not declared in roles of ${engine.path}`);
        });
      }
    }
  },
  load: (file) =>
    file.entries(CONNECTIONS).map(({ entry: engine, at }) => ({
      path: engine.path,
      type: engine.type,
      items: (engine.connections ?? []).map((c, j) => ({
        name: c.name,
        body: {
          plugin_name: c.plugin_name,
          connection_url: c.connection_url,
          allowed_roles: c.allowed_roles ?? [],
          ...(c.username_template !== undefined ? { username_template: c.username_template } : {}),
        },
        username: c.username,
        password: file.secret(c.password, [...at, 'connections', j, 'password']),
        verifyConnection: c.verify_connection ?? true,
        rotateRoot: c.rotate_root ?? false,
      })),
    })),
  emptyLive: () => new Map(),
  async read(client, desired, live) {
    for (const engine of presentMounts(desired.connections, live.secretMounts)) {
      const names = await listNames(client, `${engine.path}/config`);
      const bodies = await readAll(names, (name) => readBody(client, `${engine.path}/config/${name}`));
      live.connections.set(engine.path, new Map([...bodies].map(([name, body]) => [name, liveConnection(body)])));
    }
  },
  plan(desired, live, options) {
    return desired.connections.flatMap((engine) => {
      const current = live.connections.get(engine.path);
      const changes = engine.items.map((c) => planConnection(`${engine.path}/config/${c.name}`, `${engine.path}/rotate-root/${c.name}`, c, current?.get(c.name)));
      const declared = engine.items.map((c) => c.name);
      return [...changes, ...pruned('database-connection', declared, current?.keys() ?? [], (name) => `${engine.path}/config/${name}`, options)];
    });
  },
};

/**
 * A role's db_name must name a connection declared in the same engine whose
 * allowed_roles contains the role (Vault refuses to issue credentials otherwise).
 */
export function checkDbName(file: CheckContext, enginePath: string, role: { name: string; db_name: string }, at: IssuePath): void {
  const engine = file.entries(CONNECTIONS).find((e) => e.entry.path === enginePath)?.entry;
  const connection = (engine?.connections ?? []).find((c) => c.name === role.db_name);
  if (connection === undefined) {
    file.add([...at, 'db_name'], `connection "${role.db_name}" is not declared in connections of ${enginePath}`);
  } else if (!(connection.allowed_roles ?? []).some((r) => r === '*' || r === role.name)) {
    file.add([...at, 'db_name'], `role "${role.name}" is not in allowed_roles of connection "${role.db_name}"`);
  }
}

/**
 * Credentials before "@" other than the {{password}} template, in a URL
 * (postgresql://user:pw@host) or a Go MySQL DSN (user:pw@tcp(host:3306)/).
 */
const PLAINTEXT_IN_URL = /(^|:\/\/)[^/@:]*:(?!\{\{password\}\}@)[^/@]*@/;

function liveConnection(body: Body): LiveConnection {
  const details = (body.connection_details ?? {}) as Record<string, unknown>;
  const fingerprint = details[MARKER_FINGERPRINT];
  return {
    body: { plugin_name: body.plugin_name, connection_url: details.connection_url, allowed_roles: body.allowed_roles, username_template: details.username_template ?? '' },
    credentialsFingerprint: typeof fingerprint === 'string' ? fingerprint : undefined,
    rootRotated: details[MARKER_ROTATED] === 'true',
  };
}

function planConnection(id: string, rotatePath: string, desired: DesiredConnection, live: LiveConnection | undefined): Change {
  const fields: FieldChange[] = diffFields(specs, desired.body, live?.body);
  const actions: Action[] = [];
  const verify = { verify_connection: desired.verifyConnection };
  const sameCredentials = live !== undefined && fingerprintMatches(live.credentialsFingerprint, desired.username, desired.password);
  let reason: string | undefined;
  let rotated = live?.rootRotated ?? false;
  if (!sameCredentials) {
    if (live !== undefined) reason = live.credentialsFingerprint === undefined ? 'root credentials not yet written by rotor' : 'root credentials changed in the file';
    fields.push({ field: 'username', to: desired.username }, { field: 'password', to: desired.password });
    actions.push({
      method: 'POST',
      path: id,
      body: {
        ...desired.body,
        username: desired.username,
        password: desired.password,
        ...verify,
        [MARKER_FINGERPRINT]: credentialsFingerprint(desired.username, desired.password),
        [MARKER_ROTATED]: 'false',
      },
      idempotent: true,
    });
    rotated = false;
  } else if (fields.length > 0) {
    // Readable fields only: Vault merges the update and keeps the (rotated) password.
    actions.push({ method: 'POST', path: id, body: { ...desired.body, ...verify }, idempotent: true });
  }
  if (desired.rotateRoot && !rotated) {
    reason ??= 'root credentials not rotated yet';
    actions.push(
      { method: 'POST', path: rotatePath, idempotent: false },
      { method: 'POST', path: id, body: { [MARKER_ROTATED]: 'true', ...verify }, idempotent: true },
    );
  }
  const op = live === undefined ? 'create' : fields.length > 0 ? 'update' : actions.length > 0 ? 'rotate' : 'unchanged';
  return { kind: 'database-connection', id, op, ...(reason === undefined ? {} : { reason }), fields, actions };
}

