CREATE TABLE "agent_actions" (
	"workspace_id" uuid NOT NULL,
	"thread_id" text NOT NULL,
	"tool_call_id" text NOT NULL,
	"tool" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"progress" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"outcome" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_actions_thread_id_tool_call_id_pk" PRIMARY KEY("thread_id","tool_call_id")
);
--> statement-breakpoint
CREATE TABLE "agent_checkpoint_blobs" (
	"workspace_id" uuid NOT NULL,
	"thread_id" text NOT NULL,
	"checkpoint_ns" text DEFAULT '' NOT NULL,
	"channel" text NOT NULL,
	"version" text NOT NULL,
	"type" text NOT NULL,
	"value" "bytea",
	CONSTRAINT "agent_checkpoint_blobs_thread_id_checkpoint_ns_channel_version_pk" PRIMARY KEY("thread_id","checkpoint_ns","channel","version")
);
--> statement-breakpoint
ALTER TABLE "agent_actions" ADD CONSTRAINT "agent_actions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_checkpoint_blobs" ADD CONSTRAINT "agent_checkpoint_blobs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_actions_ws" ON "agent_actions" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "agent_checkpoint_blobs_ws" ON "agent_checkpoint_blobs" USING btree ("workspace_id");