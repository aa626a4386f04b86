CREATE TABLE "trend_alerts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"term" text NOT NULL,
	"score" real NOT NULL,
	"mentions" integer NOT NULL,
	"recipients" integer DEFAULT 0 NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "trend_items" ADD COLUMN "relevance" real;--> statement-breakpoint
ALTER TABLE "trend_items" ADD COLUMN "relevance_why" jsonb;--> statement-breakpoint
ALTER TABLE "trend_niches" ADD COLUMN "subreddits" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "trend_niches" ADD COLUMN "regions" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "trend_niches" ADD COLUMN "muted_terms" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "trend_niches" ADD COLUMN "alerts_muted_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "trend_niches" ADD COLUMN "alerts_per_day" integer DEFAULT 3 NOT NULL;--> statement-breakpoint
ALTER TABLE "trend_niches" ADD COLUMN "alert_cooldown_hours" integer DEFAULT 24 NOT NULL;--> statement-breakpoint
ALTER TABLE "trend_alerts" ADD CONSTRAINT "trend_alerts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "trend_alerts_ws_sent" ON "trend_alerts" USING btree ("workspace_id","sent_at");--> statement-breakpoint
CREATE INDEX "trend_alerts_ws_term" ON "trend_alerts" USING btree ("workspace_id","term");