-- The application role that tenant transactions switch to (SET LOCAL ROLE), so that
-- row-level security applies even when the connecting user owns the tables or is a
-- superuser. Roles are cluster-wide: another database may have created it already.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_app') THEN
    CREATE ROLE switchboard_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL; -- created concurrently by another migrator
END
$$;
--> statement-breakpoint
-- A non-superuser owner must be a member to SET ROLE; superusers need nothing.
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT switchboard_app TO %I', current_user);
  END IF;
END
$$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO switchboard_app;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO switchboard_app;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO switchboard_app;
--> statement-breakpoint
-- The organisation a tenant transaction is scoped to; NULL (no rows visible) when unset.
CREATE OR REPLACE FUNCTION app_current_org() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.org', true), '')::uuid $$;
