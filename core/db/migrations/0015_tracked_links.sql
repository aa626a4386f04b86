CREATE TABLE "link_clicks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"link_id" uuid NOT NULL,
	"clicked_at" timestamp with time zone NOT NULL,
	"platform" text,
	"post_id" uuid,
	"target_id" uuid,
	"campaign_id" uuid,
	"is_bot" boolean DEFAULT false NOT NULL,
	"visitor_hash" text NOT NULL,
	"is_unique" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tracked_links" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"code" text NOT NULL,
	"destination" text NOT NULL,
	"utm" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"campaign_id" uuid,
	"product_id" uuid,
	"post_id" uuid,
	"target_id" uuid,
	"variant" text,
	"platform" text,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tracked_links_ws_id" UNIQUE("workspace_id","id")
);
--> statement-breakpoint
ALTER TABLE "link_clicks" ADD CONSTRAINT "link_clicks_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "link_clicks" ADD CONSTRAINT "link_clicks_workspace_id_link_id_tracked_links_workspace_id_id_fk" FOREIGN KEY ("workspace_id","link_id") REFERENCES "public"."tracked_links"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tracked_links" ADD CONSTRAINT "tracked_links_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tracked_links" ADD CONSTRAINT "tracked_links_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "link_clicks_link_time" ON "link_clicks" USING btree ("link_id","clicked_at");--> statement-breakpoint
CREATE INDEX "link_clicks_ws_time" ON "link_clicks" USING btree ("workspace_id","clicked_at");--> statement-breakpoint
CREATE INDEX "link_clicks_visitor" ON "link_clicks" USING btree ("link_id","visitor_hash","clicked_at");--> statement-breakpoint
CREATE UNIQUE INDEX "tracked_links_code" ON "tracked_links" USING btree ("code");--> statement-breakpoint
CREATE INDEX "tracked_links_ws_created" ON "tracked_links" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "tracked_links_ws_campaign" ON "tracked_links" USING btree ("workspace_id","campaign_id");--> statement-breakpoint
CREATE INDEX "tracked_links_ws_post" ON "tracked_links" USING btree ("workspace_id","post_id");