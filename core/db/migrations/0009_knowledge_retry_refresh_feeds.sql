ALTER TABLE "knowledge_sources" ADD COLUMN "attempt" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "knowledge_sources" ADD COLUMN "max_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "knowledge_sources" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "knowledge_sources" ADD COLUMN "refresh_error" jsonb;--> statement-breakpoint
ALTER TABLE "knowledge_sources" ADD COLUMN "feed" jsonb;--> statement-breakpoint
ALTER TABLE "knowledge_sources" ADD COLUMN "feed_items" jsonb;--> statement-breakpoint
ALTER TABLE "knowledge_sources" ADD COLUMN "next_poll_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "knowledge_sources_next_poll" ON "knowledge_sources" USING btree ("next_poll_at") WHERE "knowledge_sources"."next_poll_at" IS NOT NULL;