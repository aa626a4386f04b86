DROP INDEX "link_clicks_visitor";--> statement-breakpoint
CREATE INDEX "link_clicks_visitor_unique" ON "link_clicks" USING btree ("link_id","visitor_hash","clicked_at") WHERE is_unique;