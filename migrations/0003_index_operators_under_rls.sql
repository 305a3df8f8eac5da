-- Row-level security only lets the planner use an index for a condition whose operator is
-- LEAKPROOF; otherwise the condition must wait until the policy has filtered every row,
-- which turns text search, tag and custom-field filters into sequential scans of all
-- organisations' tickets. These operators read only their arguments and raise no errors
-- that depend on other rows, so marking them leakproof keeps tenant isolation intact.
-- Only a superuser may do this: elsewhere (a managed database) a notice says what is
-- missing, and queries still work, just without these indexes under RLS.
DO $$
DECLARE
  fn text;
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE NOTICE 'not a superuser: search, tag and custom-field filters cannot use their indexes under row-level security (see docs/decisions.md)';
    RETURN;
  END IF;
  FOREACH fn IN ARRAY ARRAY[
    'pg_catalog.ts_match_vq(tsvector, tsquery)',
    'pg_catalog.arraycontains(anyarray, anyarray)',
    'pg_catalog.jsonb_contains(jsonb, jsonb)',
    'similarity_op(text, text)',
    'word_similarity_op(text, text)',
    'word_similarity_commutator_op(text, text)',
    'strict_word_similarity_op(text, text)',
    'strict_word_similarity_commutator_op(text, text)'
  ] LOOP
    IF to_regprocedure(fn) IS NOT NULL THEN
      EXECUTE format('ALTER FUNCTION %s LEAKPROOF', fn);
    END IF;
  END LOOP;
END
$$;
