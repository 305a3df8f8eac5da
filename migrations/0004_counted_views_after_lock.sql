-- Every ticket change takes the organisation's saved-view lock (shared; saving a view takes it
-- exclusively) and then reads the views, to keep their counts. Two statements, because the
-- read must see views committed while it waited for the lock, and a statement's snapshot is
-- taken before it waits. A VOLATILE function's queries each take a fresh snapshot (READ
-- COMMITTED), so this function does both in one round trip with the same guarantee.
-- SECURITY INVOKER: row-level security applies to the caller as before.
CREATE FUNCTION counted_views_after_lock(org uuid)
RETURNS TABLE (id uuid, owner_id uuid, filters jsonb)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtextextended('saved_views:' || org::text, 0));
  RETURN QUERY
    SELECT v.id, v.owner_id, v.filters FROM saved_views v WHERE v.org_id = org ORDER BY v.id;
END
$$;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION counted_views_after_lock(uuid) TO switchboard_app;
