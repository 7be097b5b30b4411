// A few raw HTTP calls for the testbed's own tests. Rotor's real client lives in
// packages/vault-client; these tests prove the servers, not that client.
export async function vault<T = Record<string, unknown>>(
  address: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const headers: Record<string, string> = {};
  if (token) headers['X-Vault-Token'] = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${address}/v1/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  const json = (text ? JSON.parse(text) : {}) as T;
  return { status: res.status, json };
}

export async function vaultOk<T = Record<string, unknown>>(
  address: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const { status, json } = await vault<T>(address, token, method, path, body);
  if (status >= 300) throw new Error(`${method} ${path} -> ${status}: ${JSON.stringify(json)}`);
  return json;
}
