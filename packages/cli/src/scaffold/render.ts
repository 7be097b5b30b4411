// The scaffold as text: each part under a header naming the file it belongs
// in, or one part alone (--only) so that it can be piped, e.g. into
// `kubectl apply --dry-run=server -f -`.
import { stringify } from 'yaml';
import type { Scaffold } from './service.ts';

export const PARTS = ['policy', 'config', 'kubernetes'] as const;
export type Part = (typeof PARTS)[number];

const yaml = (value: unknown): string => stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });

export function renderPart(s: Scaffold, part: Part): string {
  switch (part) {
    case 'policy':
      return s.vault.policyHcl;
    case 'config':
      return [
        `# deploy/vault/config.yaml, auth[path=${s.input.authMount}].roles: add\n`,
        yaml([s.vault.authRole]),
        '# policies: add\n',
        yaml([s.vault.policyEntry]),
        `# secrets[path=${s.input.mount}].roles: add\n`,
        yaml([s.vault.databaseRole]),
        `# secrets[path=${s.input.mount}].connections[name=${s.vault.allowedRole.connection}].allowed_roles: add\n`,
        yaml([s.vault.allowedRole.role]),
      ].join('');
    case 'kubernetes':
      return s.kubernetes.map((o) => `---\n${yaml(o)}`).join('');
  }
}

export function renderScaffold(s: Scaffold): string {
  const { input, names } = s;
  const scope = input.tables.length === 0 ? 'every table in schema public' : input.tables.join(', ');
  const header = [
    `# rotor scaffold service ${input.name}: ${input.mode} delivery, ${input.access === 'read' ? 'SELECT' : 'read-write'} on ${scope}, namespace ${input.namespace}`,
    `# Vault: auth role ${names.authRole} (service account ${input.namespace}/${names.serviceAccount}) -> policy ${names.policy} -> ${input.mount}/creds/${names.databaseRole}`,
    '#',
    '# Files to create or edit:',
    ...s.edits.map((e) => `#   ${e.file}: ${e.change}`),
    '',
  ].join('\n');
  return [
    header,
    `# ==== deploy/vault/${names.policyFile} ====\n`,
    renderPart(s, 'policy'),
    `\n# ==== deploy/vault/config.yaml (fragments) ====\n`,
    renderPart(s, 'config'),
    `\n# ==== deploy/${input.name}/${input.name}.yaml ====\n`,
    renderPart(s, 'kubernetes'),
  ].join('');
}
