-- The agent's thread read (agent/memory/db-saver.ts): a checkpoint — the thread's latest, or
-- the one named — with its pending writes and the channel values it points at, in one call.
-- A PL/pgSQL function keeps the plan of each query it runs for the session, so the read is
-- planned once per connection instead of on every call (planning was two thirds of its cost
-- on PGlite). Rows: part 0 the checkpoint, 1 a pending write, 2 a channel value.
CREATE FUNCTION "herald_checkpoint_read"(p_thread text, p_ns text, p_id text)
RETURNS TABLE (part integer, a text, b text, c text, idx integer, type text, value bytea, extra bytea)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
  cp "agent_checkpoints"%ROWTYPE;
BEGIN
  IF p_id IS NULL THEN
    SELECT * INTO cp FROM "agent_checkpoints"
    WHERE thread_id = p_thread AND checkpoint_ns = p_ns
    ORDER BY checkpoint_id DESC LIMIT 1;
  ELSE
    SELECT * INTO cp FROM "agent_checkpoints"
    WHERE thread_id = p_thread AND checkpoint_ns = p_ns AND checkpoint_id = p_id;
  END IF;
  IF NOT FOUND THEN RETURN; END IF;
  part := 0; a := cp.checkpoint_id; b := cp.parent_checkpoint_id; c := cp.metadata_type;
  idx := NULL; type := cp.type; value := cp.checkpoint; extra := cp.metadata;
  RETURN NEXT;
  RETURN QUERY
    SELECT 1, w.task_id, w.channel, w.task_path, w.idx, w.type, w.value, NULL::bytea
    FROM "agent_checkpoint_writes" w
    WHERE w.thread_id = p_thread AND w.checkpoint_ns = p_ns AND w.checkpoint_id = cp.checkpoint_id;
  -- The channel versions are in the stored checkpoint when it is JSON (the default serializer);
  -- otherwise the saver reads the values itself.
  IF cp.type = 'json' THEN
    RETURN QUERY
      SELECT 2, bl.channel, bl.version, NULL::text, NULL::integer, bl.type, bl.value, NULL::bytea
      FROM "agent_checkpoint_blobs" bl
      JOIN jsonb_each_text(convert_from(cp.checkpoint, 'UTF8')::jsonb -> 'channel_versions') v
        ON bl.channel = v.key AND bl.version = v.value
      WHERE bl.thread_id = p_thread AND bl.checkpoint_ns = p_ns;
  END IF;
END $$;
