CREATE TYPE "public"."metric_status" AS ENUM('ok', 'deleted', 'unreachable', 'forbidden');--> statement-breakpoint
CREATE TABLE "account_snapshots" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"social_account_id" uuid NOT NULL,
	"platform" text NOT NULL,
	"day" text NOT NULL,
	"status" "metric_status" NOT NULL,
	"followers" integer,
	"following" integer,
	"posts" integer,
	"detail" text,
	"fetched_at" timestamp with time zone NOT NULL,
	CONSTRAINT "account_snapshots_account_day" UNIQUE("social_account_id","day")
);
--> statement-breakpoint
CREATE TABLE "metric_snapshots" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"target_id" uuid NOT NULL,
	"social_account_id" uuid NOT NULL,
	"platform" text NOT NULL,
	"stage" text NOT NULL,
	"status" "metric_status" NOT NULL,
	"likes" integer,
	"reposts" integer,
	"replies" integer,
	"quotes" integer,
	"impressions" integer,
	"detail" text,
	"fetched_at" timestamp with time zone NOT NULL,
	CONSTRAINT "metric_snapshots_target_stage" UNIQUE("target_id","stage")
);
--> statement-breakpoint
ALTER TABLE "account_snapshots" ADD CONSTRAINT "account_snapshots_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_snapshots" ADD CONSTRAINT "account_snapshots_workspace_id_social_account_id_social_accounts_workspace_id_id_fk" FOREIGN KEY ("workspace_id","social_account_id") REFERENCES "public"."social_accounts"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric_snapshots" ADD CONSTRAINT "metric_snapshots_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric_snapshots" ADD CONSTRAINT "metric_snapshots_workspace_id_target_id_post_targets_workspace_id_id_fk" FOREIGN KEY ("workspace_id","target_id") REFERENCES "public"."post_targets"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "account_snapshots_ws_fetched" ON "account_snapshots" USING btree ("workspace_id","fetched_at");--> statement-breakpoint
CREATE INDEX "metric_snapshots_ws_target_fetched" ON "metric_snapshots" USING btree ("workspace_id","target_id","fetched_at");--> statement-breakpoint
CREATE INDEX "metric_snapshots_ws_fetched" ON "metric_snapshots" USING btree ("workspace_id","fetched_at");