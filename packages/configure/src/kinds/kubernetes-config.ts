import { z } from 'zod';
import { diffFields, fullBody } from '../fields.ts';
import type { FieldSpecs } from '../fields.ts';
import type { MountKeys, ResourceKind } from '../kind.ts';
import type { Body } from '../model.ts';
import { secretRef, textOrFile } from '../schema-parts.ts';
import { Secret } from '../secret.ts';
import type { Change, FieldChange } from '../plan-types.ts';
import { readAll, readBody } from '../vault-reads.ts';
import { presentMounts } from './mounts.ts';

const CONFIG = {
  section: 'auth',
  type: 'kubernetes',
  keys: {
    config: z.strictObject({
      kubernetes_host: z.url({ protocol: /^https?$/, error: 'an http(s) URL of the Kubernetes API' }),
      /** Omitted: Vault uses its pod's own CA file (in-cluster default). */
      kubernetes_ca_cert: textOrFile.optional(),
      /** Omitted: Vault reviews tokens with its pod's own service-account token (in-cluster default). */
      token_reviewer_jwt: secretRef.optional(),
      issuer: z.string().optional(),
      disable_local_ca_jwt: z.boolean().optional(),
    }),
  },
} satisfies MountKeys;

/** The config of the kubernetes method at `path`; the reviewer JWT is a Secret. */
export interface DesiredKubernetesConfig {
  path: string;
  type: string;
  config: Body;
}

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
export const kubernetesConfigs: ResourceKind<'kubernetes-config', 'kubernetesConfigs', DesiredKubernetesConfig[], Map<string, Body>> = {
  name: 'kubernetes-config',
  slot: 'kubernetesConfigs',
  schema: [CONFIG],
  load: (file) =>
    file.entries(CONFIG).map(({ entry, at }) => {
      const { kubernetes_ca_cert: ca, token_reviewer_jwt: jwt, ...rest } = entry.config;
      const config: Body = { ...rest };
      if (ca !== undefined) config.kubernetes_ca_cert = typeof ca === 'string' ? ca : file.file(ca.fromFile, [...at, 'config', 'kubernetes_ca_cert', 'fromFile']);
      if (jwt !== undefined) config.token_reviewer_jwt = file.secret(jwt, [...at, 'config', 'token_reviewer_jwt']);
      return { path: entry.path, type: entry.type, config };
    }),
  emptyLive: () => new Map(),
  async read(client, desired, live) {
    const mounts = presentMounts(desired.kubernetesConfigs, live.authMounts);
    live.kubernetesConfigs = await readAll(
      mounts.map((m) => m.path),
      (path) => readBody(client, `auth/${path}/config`),
    );
  },
  plan(desired, live) {
    const changes: Change[] = [];
    for (const method of desired.kubernetesConfigs) {
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
