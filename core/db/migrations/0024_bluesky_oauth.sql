CREATE TABLE "bluesky_oauth_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"did" text NOT NULL,
	"session_ciphertext" text NOT NULL,
	"session_key_id" text NOT NULL,
	"expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bluesky_oauth_states" (
	"key_hash" text PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"state_ciphertext" text NOT NULL,
	"state_key_id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "bluesky_oauth_sessions" ADD CONSTRAINT "bluesky_oauth_sessions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bluesky_oauth_states" ADD CONSTRAINT "bluesky_oauth_states_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "bluesky_oauth_sessions_workspace" ON "bluesky_oauth_sessions" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "bluesky_oauth_states_expires" ON "bluesky_oauth_states" USING btree ("expires_at");