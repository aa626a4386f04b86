ALTER TABLE "workspaces" ADD COLUMN "content_version" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Bumps workspaces.content_version once per statement that changes a workspace's posts or
-- targets, inside the same transaction, so caches keyed by (workspace, content_version) can
-- never keep serving what a committed change replaced. Rows are locked in id order so two
-- statements touching the same workspaces cannot deadlock on them.
CREATE FUNCTION "herald_bump_content_version"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM "workspaces" WHERE "id" IN (SELECT "workspace_id" FROM "changed_rows") ORDER BY "id" FOR NO KEY UPDATE;
  UPDATE "workspaces" SET "content_version" = "content_version" + 1
    WHERE "id" IN (SELECT "workspace_id" FROM "changed_rows");
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "posts_content_version_insert" AFTER INSERT ON "posts" REFERENCING NEW TABLE AS "changed_rows" FOR EACH STATEMENT EXECUTE FUNCTION "herald_bump_content_version"();
--> statement-breakpoint
CREATE TRIGGER "posts_content_version_update" AFTER UPDATE ON "posts" REFERENCING NEW TABLE AS "changed_rows" FOR EACH STATEMENT EXECUTE FUNCTION "herald_bump_content_version"();
--> statement-breakpoint
CREATE TRIGGER "posts_content_version_delete" AFTER DELETE ON "posts" REFERENCING OLD TABLE AS "changed_rows" FOR EACH STATEMENT EXECUTE FUNCTION "herald_bump_content_version"();
--> statement-breakpoint
CREATE TRIGGER "post_targets_content_version_insert" AFTER INSERT ON "post_targets" REFERENCING NEW TABLE AS "changed_rows" FOR EACH STATEMENT EXECUTE FUNCTION "herald_bump_content_version"();
--> statement-breakpoint
CREATE TRIGGER "post_targets_content_version_update" AFTER UPDATE ON "post_targets" REFERENCING NEW TABLE AS "changed_rows" FOR EACH STATEMENT EXECUTE FUNCTION "herald_bump_content_version"();
--> statement-breakpoint
CREATE TRIGGER "post_targets_content_version_delete" AFTER DELETE ON "post_targets" REFERENCING OLD TABLE AS "changed_rows" FOR EACH STATEMENT EXECUTE FUNCTION "herald_bump_content_version"();
