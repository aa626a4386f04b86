ALTER TABLE "recurring_series" ADD COLUMN "stopped_at" timestamp with time zone;--> statement-breakpoint
-- Series stopped before this column existed were the only inactive ones: they stay stopped, not paused.
UPDATE "recurring_series" SET "stopped_at" = "updated_at" WHERE "active" = false;
