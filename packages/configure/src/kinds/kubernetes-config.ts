import { diffFields, fullBody } from '../fields.ts';
import type { FieldSpecs } from '../fields.ts';
import type { ResourceKind } from '../kind.ts';
import { readAll, readBody } from '../live.ts';
import { Secret } from '../secret.ts';
import type { Change, FieldChange } from '../plan-types.ts';
import { presentMounts } from './mounts.ts';

const specs: FieldSpecs = {
  kubernetes_host: { kind: 'value', default: '' },
  kubernetes_ca_cert: { kind: 'text', default: '' },
  issuer: { kind: 'value', default: '' },
  disable_local_ca_jwt: { kind: 'value', default: false },
};

/**
 * auth/<path>/config of kubernetes methods. The reviewer JWT is write-only:
 * Vault only says whether one is set, so drift is detected on presence, not
 * on value (a changed JWT in the same env var is not seen; see docs/configure.md).
 */
export const kubernetesConfigs: ResourceKind = {
  name: 'kubernetes-config',
  async read(client, desired, live) {
    const mounts = presentMounts(desired.auth, live.authMounts).filter((m) => m.type === 'kubernetes');
    live.kubernetesConfigs = await readAll(
      mounts.map((m) => m.path),
      (path) => readBody(client, `auth/${path}/config`),
    );
  },
  plan(desired, live) {
    const changes: Change[] = [];
    for (const method of desired.auth) {
      if (method.config === undefined) continue;
      const id = `auth/${method.path}/config`;
      const current = live.kubernetesConfigs.get(method.path);
      const jwt = method.config.token_reviewer_jwt;
      const fields: FieldChange[] = diffFields(specs, method.config, current);
      const jwtSet = current?.token_reviewer_jwt_set === true;
      if ((jwt instanceof Secret) !== jwtSet && (current !== undefined || jwt instanceof Secret)) {
        fields.push({
          field: 'token_reviewer_jwt',
          ...(current === undefined ? {} : { from: jwtSet ? '(set)' : '(not set)' }),
          to: jwt instanceof Secret ? jwt : "(not set: Vault uses its pod's own token)",
        });
      }
      const op = current === undefined ? 'create' : fields.length > 0 ? 'update' : 'unchanged';
      const body = { ...fullBody(specs, method.config), ...(jwt instanceof Secret ? { token_reviewer_jwt: jwt } : {}) };
      changes.push({ kind: 'kubernetes-config', id, op, fields, actions: op === 'unchanged' ? [] : [{ method: 'POST', path: id, body, idempotent: true }] });
    }
    return changes;
  },
};
