import type { Body } from './model.ts';
import type { FieldChange } from './plan-types.ts';

/**
 * How a field compares between the file and what Vault reads back:
 *  value  - exactly (numbers are seconds for TTLs, as Vault answers them)
 *  set    - a list whose order Vault does not keep or does not care about
 *  list   - an ordered list (SQL statements run in order)
 *  text   - multi-line text, ignoring trailing whitespace and line endings
 */
export type FieldKind = 'value' | 'set' | 'list' | 'text';

export interface FieldSpec {
  kind: FieldKind;
  /** What Vault holds when the field is not given. */
  default: unknown;
}

export type FieldSpecs = Readonly<Record<string, FieldSpec>>;

/** The fields of `body` that `specs` manage, defaults filled in: a full body, so an omitted field is reset. */
export function fullBody(specs: FieldSpecs, body: Body): Body {
  return Object.fromEntries(Object.entries(specs).map(([field, spec]) => [field, body[field] ?? spec.default]));
}

/** Managed fields that differ; with no live resource every field is new. Pure. */
export function diffFields(specs: FieldSpecs, desired: Body, live: Body | undefined): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const [field, spec] of Object.entries(specs)) {
    const to = desired[field] ?? spec.default;
    if (live === undefined) {
      if (to !== spec.default && !isEmpty(to)) changes.push({ field, to });
      continue;
    }
    const from = live[field] ?? spec.default;
    if (!sameValue(spec.kind, to, from)) changes.push({ field, from, to });
  }
  return changes;
}

function isEmpty(value: unknown): boolean {
  return value === '' || (Array.isArray(value) && value.length === 0);
}

function sameValue(kind: FieldKind, a: unknown, b: unknown): boolean {
  switch (kind) {
    case 'value':
      return a === b;
    case 'text':
      return normaliseText(a) === normaliseText(b);
    case 'list':
      return sameList(asList(a), asList(b));
    case 'set':
      return sameList([...asList(a)].sort(), [...asList(b)].sort());
  }
}

function asList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function normaliseText(value: unknown): string {
  return (typeof value === 'string' ? value : '')
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trimEnd();
}
