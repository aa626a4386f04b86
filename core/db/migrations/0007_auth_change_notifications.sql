-- Tells every API process, through NOTIFY herald_auth (sent when the transaction commits),
-- which cached principals a change may have made wrong: a session revoked ('s:' id), a user
-- changed or deleted ('u:' id), an API key revoked or touched ('k:' id), a membership or the
-- workspace itself changed ('w:' id; content_version bumps are workspace updates too).
CREATE FUNCTION "herald_notify_auth"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  IF TG_TABLE_NAME = 'sessions' THEN
    PERFORM pg_notify('herald_auth', 's:' || r.id);
  ELSIF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('herald_auth', 'u:' || r.id);
  ELSIF TG_TABLE_NAME = 'api_keys' THEN
    PERFORM pg_notify('herald_auth', 'k:' || r.id);
  ELSIF TG_TABLE_NAME = 'memberships' THEN
    PERFORM pg_notify('herald_auth', 'w:' || r.workspace_id);
  ELSIF TG_TABLE_NAME = 'workspaces' THEN
    PERFORM pg_notify('herald_auth', 'w:' || r.id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "sessions_notify_auth" AFTER UPDATE OR DELETE ON "sessions" FOR EACH ROW EXECUTE FUNCTION "herald_notify_auth"();
--> statement-breakpoint
CREATE TRIGGER "users_notify_auth" AFTER UPDATE OR DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "herald_notify_auth"();
--> statement-breakpoint
CREATE TRIGGER "api_keys_notify_auth" AFTER UPDATE OR DELETE ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "herald_notify_auth"();
--> statement-breakpoint
CREATE TRIGGER "memberships_notify_auth" AFTER INSERT OR UPDATE OR DELETE ON "memberships" FOR EACH ROW EXECUTE FUNCTION "herald_notify_auth"();
--> statement-breakpoint
CREATE TRIGGER "workspaces_notify_auth" AFTER UPDATE OR DELETE ON "workspaces" FOR EACH ROW EXECUTE FUNCTION "herald_notify_auth"();
