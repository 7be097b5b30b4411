-- The DB admin's setup, run by the Job db-admin as the superuser; running it again changes
-- nothing. The seed's users table and rows, and vault_admin: the role Vault's database engine
-- connects as (deploy/vault/config.yaml), LOGIN CREATEROLE and no superuser.

-- The CREATE ROLE below carries vault_admin's first password: no server log may quote it, not even
-- the STATEMENT line of an error.
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET log_min_duration_statement = -1;
-- A second run's notices ("already a member") are no news.
SET client_min_messages = warning;
\getenv vault_admin_password VAULT_ADMIN_PASSWORD

BEGIN;

-- The seed's table and its two rows, once: a later run never brings back rows the app deleted.
DO $seed$ BEGIN
  IF to_regclass('public.users') IS NULL THEN
    CREATE TABLE users (
      id    serial       NOT NULL UNIQUE,
      title varchar(255) NOT NULL,
      name  varchar(255)
    );
    INSERT INTO users(id, title, name) VALUES (1, 'sre', 'sakib'), (2, 'manager', 'hanifa');
    PERFORM setval('users_id_seq', 2);
  END IF;
END $seed$;

-- The password is set only when the role is created: Vault's rotate-root replaces it minutes
-- later, and setting it again would lock Vault out.
SELECT format('CREATE ROLE vault_admin WITH LOGIN PASSWORD %L', :'vault_admin_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vault_admin') \gexec
ALTER ROLE vault_admin WITH LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS;
-- Revocation ends the sessions of the users it drops (pg_terminate_backend): never a superuser's.
GRANT pg_signal_backend TO vault_admin;
-- What the dynamic users get (the roles' creation statements), with the right to grant it on.
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE users TO vault_admin WITH GRANT OPTION;
GRANT USAGE, SELECT ON SEQUENCE users_id_seq TO vault_admin WITH GRANT OPTION;

COMMIT;
