import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { format, inspect } from 'node:util';
import { withSecrets } from '../src/secret.ts';
import { camelCase, camelKeys, snakeCase, snakeKeys } from '../src/keys.ts';

describe('withSecrets', () => {
  const secret = 's3cr3t-value-that-must-not-leak';
  const obj = withSecrets({ username: 'v-token-reader-abc' }, { password: secret });

  it('keeps the secret readable by name', () => {
    assert.equal(obj.password, secret);
    assert.equal(obj.username, 'v-token-reader-abc');
  });

  const renderings: [string, () => string][] = [
    ['JSON.stringify', () => JSON.stringify(obj)],
    ['util.inspect', () => inspect(obj, { depth: 10 })],
    ['util.inspect with showHidden', () => inspect(obj, { showHidden: true, depth: 10 })],
    ['console-style format', () => format('%o %O %j', obj, obj, obj)],
    ['object spread', () => JSON.stringify({ ...obj })],
    ['nested in a log record', () => JSON.stringify({ msg: 'rotated', credentials: obj })],
    ['Object.keys/entries', () => `${Object.keys(obj).join()} ${JSON.stringify(Object.entries(obj))}`],
  ];
  for (const [name, render] of renderings) {
    it(`hides the secret from ${name}`, () => {
      const text = render();
      assert.ok(!text.includes(secret), text);
      assert.ok(text.includes('v-token-reader-abc'), text);
    });
  }

  it('cannot be overwritten or deleted', () => {
    assert.throws(() => {
      (obj as { password: string }).password = 'other';
    }, TypeError);
    assert.throws(() => delete (obj as Partial<{ password: string }>).password, TypeError);
  });
});

describe('key case conversion', () => {
  const cases: [snake: string, camel: string][] = [
    ['lease_id', 'leaseId'],
    ['default_lease_ttl', 'defaultLeaseTtl'],
    ['keys_base64', 'keysBase64'],
    ['type', 'type'],
  ];
  for (const [snake, camel] of cases) {
    it(`${snake} <-> ${camel}`, () => {
      assert.equal(camelCase(snake), camel);
      assert.equal(snakeCase(camel), snake);
    });
  }
  it('converts one level, drops undefined when writing, and leaves snake_case input alone', () => {
    assert.deepEqual(camelKeys({ max_ttl: 1, nested_map: { inner_key: 2 } }), { maxTtl: 1, nestedMap: { inner_key: 2 } });
    assert.deepEqual(snakeKeys({ maxTtl: 1, default_ttl: 2, skipped: undefined }), { max_ttl: 1, default_ttl: 2 });
  });
});
