import { z } from 'zod';
import { unlessNotFound } from '@rotor/vault-client';
import type { VaultClient } from '@rotor/vault-client';
import type { Body } from './model.ts';

// The reads kinds make of Vault: a body, a list of names, many bodies.

const dataBody = z.object({ data: z.record(z.string(), z.unknown()) }).transform((r) => r.data);
const listKeys = z.object({ data: z.object({ keys: z.array(z.string()) }) }).transform((r) => r.data.keys);

/** The `data` of a read, or undefined when nothing is there. */
export async function readBody(client: VaultClient, path: string): Promise<Body | undefined> {
  return unlessNotFound(client.request('GET', path, { schema: dataBody }), { evenWithErrors: true });
}

/** The names under a path (LIST); none when the path is empty. */
export async function listNames(client: VaultClient, path: string): Promise<string[]> {
  return (await unlessNotFound(client.request('LIST', path, { schema: listKeys }), { evenWithErrors: true })) ?? [];
}

/** Reads every name with `read`, a few at a time; names that read as nothing are left out. */
export async function readAll<T>(names: readonly string[], read: (name: string) => Promise<T | undefined>): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  const queue = [...names];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const value = await read(name);
      if (value !== undefined) out.set(name, value);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}
