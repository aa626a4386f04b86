CREATE TABLE "trend_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"source" text NOT NULL,
	"external_id" text NOT NULL,
	"title" text NOT NULL,
	"url" text,
	"terms" text[] DEFAULT '{}'::text[] NOT NULL,
	"engagement" integer DEFAULT 0 NOT NULL,
	"prev_engagement" integer DEFAULT 0 NOT NULL,
	"published_at" timestamp with time zone,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "trend_items_ws_source_ext" UNIQUE("workspace_id","source","external_id")
);
--> statement-breakpoint
CREATE TABLE "trend_niches" (
	"workspace_id" uuid PRIMARY KEY NOT NULL,
	"keywords" text[] DEFAULT '{}'::text[] NOT NULL,
	"languages" text[] DEFAULT '{}'::text[] NOT NULL,
	"mastodon_instances" text[] DEFAULT '{}'::text[] NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "trend_source_health" (
	"workspace_id" uuid NOT NULL,
	"source" text NOT NULL,
	"last_ok_at" timestamp with time zone,
	"last_error_at" timestamp with time zone,
	"last_error" text,
	"last_items" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "trend_source_health_workspace_id_source_pk" PRIMARY KEY("workspace_id","source")
);
--> statement-breakpoint
ALTER TABLE "trend_items" ADD CONSTRAINT "trend_items_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trend_niches" ADD CONSTRAINT "trend_niches_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trend_source_health" ADD CONSTRAINT "trend_source_health_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "trend_items_ws_seen" ON "trend_items" USING btree ("workspace_id","last_seen_at");