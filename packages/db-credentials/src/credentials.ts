/** One set of database credentials and what is known about its lifetime. */
export interface DbCredentials {
  readonly username: string;
  /** Non-enumerable: absent from JSON.stringify, util.inspect and log objects. */
  readonly password: string;
  /** The Vault lease behind these credentials, when known. */
  readonly leaseId: string | undefined;
  /** Lease duration in seconds as last granted (0 = no expiry known). */
  readonly leaseDuration: number;
  readonly renewable: boolean;
  /** When the credentials stop working for new logins; undefined = unknown/never. */
  readonly expiresAt: Date | undefined;
}

export interface DbCredentialsInit {
  username: string;
  password: string;
  leaseId?: string | undefined;
  leaseDuration?: number;
  renewable?: boolean;
  expiresAt?: Date | undefined;
}

/** A frozen credentials value whose password does not enumerate (like pg's Client). */
export function createDbCredentials(init: DbCredentialsInit): DbCredentials {
  const creds = {
    username: init.username,
    leaseId: init.leaseId,
    leaseDuration: init.leaseDuration ?? 0,
    renewable: init.renewable ?? false,
    expiresAt: init.expiresAt,
  };
  Object.defineProperty(creds, 'password', { value: init.password, enumerable: false });
  return Object.freeze(creds) as DbCredentials;
}

/** A copy with a new lifetime (after a lease renewal): same login, same lease. */
export function withLifetime(creds: DbCredentials, leaseDuration: number, expiresAt: Date | undefined): DbCredentials {
  return createDbCredentials({ ...creds, password: creds.password, leaseDuration, expiresAt });
}

/** Whether two credentials log in as the same user with the same password. */
export function sameLogin(a: DbCredentials, b: DbCredentials): boolean {
  return a.username === b.username && a.password === b.password;
}

/** What may be logged about credentials: never the password. */
export function describeCredentials(creds: DbCredentials): { username: string; leaseId?: string; expiresAt?: string } {
  return {
    username: creds.username,
    ...(creds.leaseId === undefined ? {} : { leaseId: creds.leaseId }),
    ...(creds.expiresAt === undefined ? {} : { expiresAt: creds.expiresAt.toISOString() }),
  };
}
