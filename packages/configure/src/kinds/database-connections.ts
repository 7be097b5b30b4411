import { diffFields } from '../fields.ts';
import type { FieldSpecs } from '../fields.ts';
import { pruned } from '../kind.ts';
import type { ResourceKind } from '../kind.ts';
import { credentialsFingerprint, fingerprintMatches } from '../fingerprint.ts';
import { listNames, readAll, readBody } from '../live.ts';
import type { LiveConnection } from '../live.ts';
import type { Body, DesiredConnection } from '../model.ts';
import type { Action, Change, FieldChange } from '../plan-types.ts';
import { presentMounts } from './mounts.ts';

const specs: FieldSpecs = {
  plugin_name: { kind: 'value', default: '' },
  connection_url: { kind: 'value', default: '' },
  allowed_roles: { kind: 'set', default: [] },
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
export const databaseConnections: ResourceKind = {
  name: 'database-connection',
  async read(client, desired, live) {
    for (const engine of presentMounts(desired.secrets, live.secretMounts)) {
      const names = await listNames(client, `${engine.path}/config`);
      const bodies = await readAll(names, (name) => readBody(client, `${engine.path}/config/${name}`));
      live.connections.set(engine.path, new Map([...bodies].map(([name, body]) => [name, liveConnection(body)])));
    }
  },
  plan(desired, live, options) {
    return desired.secrets.flatMap((engine) => {
      const current = live.connections.get(engine.path);
      const changes = engine.connections.map((c) => planConnection(`${engine.path}/config/${c.name}`, `${engine.path}/rotate-root/${c.name}`, c, current?.get(c.name)));
      const declared = engine.connections.map((c) => c.name);
      return [...changes, ...pruned('database-connection', declared, current?.keys() ?? [], (name) => `${engine.path}/config/${name}`, options)];
    });
  },
};

function liveConnection(body: Body): LiveConnection {
  const details = (body.connection_details ?? {}) as Record<string, unknown>;
  const fingerprint = details[MARKER_FINGERPRINT];
  return {
    body: { plugin_name: body.plugin_name, connection_url: details.connection_url, allowed_roles: body.allowed_roles },
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

