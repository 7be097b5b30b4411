import type { z } from 'zod';
import type { VaultClient } from '@rotor/vault-client';
import type { AddProblem } from './checks.ts';
import { diffFields, fullBody } from './fields.ts';
import type { FieldSpecs } from './fields.ts';
import type { LiveState } from './live.ts';
import type { IssuePath } from './locate.ts';
import type { Body, DesiredConfig } from './model.ts';
import type { Action, Change, KindName, PlanOptions } from './plan-types.ts';
import type { SecretRef } from './schema-parts.ts';
import type { Secret } from './secret.ts';

/**
 * One Vault resource kind, whole: its part of the file's schema, how it is
 * checked and loaded, its slot of desired and live state, how it is read from
 * Vault (thin I/O) and how it is planned (pure). schema.ts, loader.ts,
 * model.ts, live.ts, reader.ts and planner.ts assemble themselves from the
 * KINDS list in kinds/index.ts, whose order is the apply order.
 *
 * N is the kind's name in plans, S its slot, D its desired state, L its live state.
 */
export interface ResourceKind<N extends string = string, S extends string = string, D = unknown, L = unknown> {
  readonly name: N;
  /** Key of this kind's state in DesiredConfig and LiveState. */
  readonly slot: S;
  /** The keys this kind adds to the file. */
  readonly schema: readonly SchemaFragment[];
  /** What the schema alone cannot check (unique names, built-ins, references); runs on the whole file. */
  check?(file: CheckContext): void;
  /** This kind's desired state from the validated file: secrets, files and durations resolved. */
  load(file: LoadContext): D;
  /** Its live state before anything is read. */
  emptyLive(): L;
  /** Reads this kind's live state into `live`; earlier kinds (mounts) are already there. */
  read(client: VaultClient, desired: DesiredConfig, live: LiveState): Promise<void>;
  /** The changes that make Vault match the file. Pure. */
  plan(desired: DesiredConfig, live: LiveState, options: PlanOptions): Change[];
}

export type DesiredOf<K> = K extends ResourceKind<string, string, infer D, unknown> ? D : never;
export type LiveOf<K> = K extends ResourceKind<string, string, unknown, infer L> ? L : never;

/** A top-level list of the file owned by one kind, which gives the schema of its entries (e.g. `policies`). */
export interface OwnedSection<E extends z.ZodType = z.ZodType> {
  readonly section: string;
  readonly entry: E;
}

/**
 * Keys a kind adds to the entries of one mount type in a top-level list (e.g.
 * `roles` of `secrets` entries of type database). The mount's kind adds path,
 * type and tuning; one type makes a plain object, several a union on `type`.
 */
export interface MountKeys<S extends z.ZodRawShape = z.ZodRawShape> {
  readonly section: string;
  readonly type: string;
  readonly keys: S;
}

export type SchemaFragment = OwnedSection | MountKeys;

/** An entry of the file and where it is, for issues reported at file:line:col. */
export interface Located<T> {
  entry: T;
  at: IssuePath;
}

export type MountEntry<S extends z.ZodRawShape> = z.output<z.ZodObject<S>> & { path: string; type: string };

/** The validated file, seen through one kind's schema fragments. */
export interface FileView {
  /** Every entry of a top-level list, whatever its type (e.g. to check paths are unique across types). */
  section(name: string): Located<Readonly<Record<string, unknown>>>[];
  entries<E extends z.ZodType>(fragment: OwnedSection<E>): Located<z.output<E>>[];
  entries<S extends z.ZodRawShape>(fragment: MountKeys<S>): Located<MountEntry<S>>[];
}

export interface CheckContext extends FileView {
  add: AddProblem;
}

export interface LoadContext extends FileView {
  /** The secret a reference points at; a missing one is an issue at `at`. */
  secret(ref: SecretRef, at: IssuePath): Secret;
  /** A file's text, relative to the config file; an unreadable one is an issue at `at`. */
  file(path: string, at: IssuePath): string;
}

/** Entries gathered from several fragments of one list (e.g. auth methods of each type), back in file order. */
export function inFileOrder<L extends Located<unknown>>(items: readonly L[]): L[] {
  return [...items].sort((a, b) => Number(a.at[1]) - Number(b.at[1]));
}

/** Named items of one mount of the file (e.g. the roles of the database engine at `path`). */
export interface PerMount<T> {
  path: string;
  type: string;
  items: T[];
}

export interface NamedResources {
  kind: KindName;
  specs: FieldSpecs;
  desired: readonly { name: string; body: Body }[];
  live: ReadonlyMap<string, Body> | undefined;
  /** The resource's path, e.g. "database/roles/<name>". */
  path: (name: string) => string;
  /** Write method: PUT for policies, POST for the rest. */
  method?: 'POST' | 'PUT';
  /** Resources that must never be deleted (built-ins). */
  isProtected?: (name: string) => boolean;
}

/**
 * The usual kind of resource: a named body that is written whole and deleted
 * by path. Declared ones are created or updated, undeclared ones deleted with
 * --prune (built-ins never).
 */
export function planNamed(r: NamedResources, options: PlanOptions): Change[] {
  const changes: Change[] = [];
  for (const { name, body } of r.desired) {
    const live = r.live?.get(name);
    const fields = diffFields(r.specs, body, live);
    const op = live === undefined ? 'create' : fields.length > 0 ? 'update' : 'unchanged';
    const actions: Action[] =
      op === 'unchanged' ? [] : [{ method: r.method ?? 'POST', path: r.path(name), body: fullBody(r.specs, body), idempotent: true }];
    changes.push({ kind: r.kind, id: r.path(name), op, fields, actions });
  }
  changes.push(...pruned(r.kind, r.desired.map((d) => d.name), r.live?.keys() ?? [], r.path, options, r.isProtected));
  return changes;
}

/** Deletions of live resources the file does not declare, with --prune only; protected ones never. */
export function pruned(
  kind: KindName,
  declared: Iterable<string>,
  live: Iterable<string>,
  path: (name: string) => string,
  options: PlanOptions,
  isProtected: (name: string) => boolean = () => false,
): Change[] {
  if (!options.prune) return [];
  const names = new Set(declared);
  return [...live].filter((n) => !names.has(n) && !isProtected(n)).map((n) => deletion(kind, path(n)));
}

export function deletion(kind: KindName, path: string): Change {
  return { kind, id: path, op: 'delete', fields: [], actions: [{ method: 'DELETE', path, idempotent: true }] };
}
