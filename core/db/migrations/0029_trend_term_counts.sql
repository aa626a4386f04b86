CREATE TABLE "trend_term_counts" (
	"workspace_id" uuid NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"term" text NOT NULL,
	"n" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "trend_term_counts_workspace_id_bucket_term_pk" PRIMARY KEY("workspace_id","bucket","term")
);
--> statement-breakpoint
ALTER TABLE "trend_term_counts" ADD CONSTRAINT "trend_term_counts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
INSERT INTO "trend_term_counts" ("workspace_id", "bucket", "term", "n") SELECT "workspace_id", date_trunc('hour', "first_seen_at" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', "term", count(*)::int FROM "trend_items", unnest("terms") AS "term" GROUP BY 1, 2, 3;
