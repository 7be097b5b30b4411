import { z } from 'zod';
import type { MountKeys } from './kind.ts';
import { KINDS } from './kinds/index.ts';

// The file's schema, assembled from the kinds' fragments (kind.ts): a
// top-level list per section, in the order the kinds first name it. A section
// owned by one kind takes that kind's entry schema; a section of mounts takes
// one strict object per mount type, holding the keys every kind adds to that
// type, in kind order (one type: that object; several: a union on `type`).

function sections(): Record<string, z.ZodType> {
  const owned = new Map<string, z.ZodType>();
  const mounts = new Map<string, Map<string, z.ZodRawShape>>();
  const order: string[] = [];
  for (const kind of KINDS) {
    for (const fragment of kind.schema) {
      if (!order.includes(fragment.section)) order.push(fragment.section);
      if ('entry' in fragment) owned.set(fragment.section, fragment.entry);
      else addKeys(mounts, fragment);
    }
  }
  return Object.fromEntries(
    order.map((section) => {
      const types = [...(mounts.get(section) ?? new Map<string, z.ZodRawShape>()).values()].map((keys) => z.strictObject(keys));
      const [only, ...more] = types;
      const entry = owned.get(section) ?? (more.length === 0 && only !== undefined ? only : z.discriminatedUnion('type', types as [z.ZodObject, ...z.ZodObject[]]));
      return [section, z.array(entry).optional()];
    }),
  );
}

function addKeys(mounts: Map<string, Map<string, z.ZodRawShape>>, fragment: MountKeys): void {
  const types = mounts.get(fragment.section) ?? new Map<string, z.ZodRawShape>();
  types.set(fragment.type, { ...types.get(fragment.type), ...fragment.keys });
  mounts.set(fragment.section, types);
}

export const configSchema = z.strictObject(sections());

/** One entry of a top-level list, as written. */
export type ConfigEntry = Readonly<Record<string, unknown>>;

/**
 * The file as written (before secrets, files and durations are resolved): its
 * top-level lists. Kinds see their entries typed by their own fragments (FileView).
 */
export type ConfigFile = Readonly<Record<string, readonly ConfigEntry[] | undefined>>;

/** JSON Schema of the file, for editors (yaml-language-server) and CI linters. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { target: 'draft-2020-12' }),
    title: 'Rotor Vault configuration',
  };
}
