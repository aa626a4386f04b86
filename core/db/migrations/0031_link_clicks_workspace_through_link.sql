ALTER TABLE "link_clicks" DROP CONSTRAINT "link_clicks_workspace_id_workspaces_id_fk";
