CREATE TABLE "publish_handles" (
	"workspace_id" uuid NOT NULL,
	"target_id" uuid NOT NULL,
	"platform" text NOT NULL,
	"handle_ciphertext" text NOT NULL,
	"handle_key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "publish_handles_workspace_id_target_id_pk" PRIMARY KEY("workspace_id","target_id")
);
--> statement-breakpoint
ALTER TABLE "media" ADD COLUMN "probe" jsonb;--> statement-breakpoint
ALTER TABLE "publish_handles" ADD CONSTRAINT "publish_handles_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "publish_handles" ADD CONSTRAINT "publish_handles_workspace_id_target_id_post_targets_workspace_id_id_fk" FOREIGN KEY ("workspace_id","target_id") REFERENCES "public"."post_targets"("workspace_id","id") ON DELETE cascade ON UPDATE no action;