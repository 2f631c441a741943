-- modify "rollups" table
ALTER TABLE "rollups" ADD COLUMN "min_actual_goal" double precision NOT NULL DEFAULT 0, ADD COLUMN "max_actual_goal" double precision NOT NULL DEFAULT 0;
