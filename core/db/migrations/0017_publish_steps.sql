CREATE TABLE "publish_steps" (
	"workspace_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"step" text NOT NULL,
	"value" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "publish_steps_account_id_idempotency_key_step_pk" PRIMARY KEY("account_id","idempotency_key","step")
);
--> statement-breakpoint
ALTER TABLE "publish_steps" ADD CONSTRAINT "publish_steps_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "publish_steps" ADD CONSTRAINT "publish_steps_workspace_id_account_id_social_accounts_workspace_id_id_fk" FOREIGN KEY ("workspace_id","account_id") REFERENCES "public"."social_accounts"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "publish_steps_created" ON "publish_steps" USING btree ("created_at");