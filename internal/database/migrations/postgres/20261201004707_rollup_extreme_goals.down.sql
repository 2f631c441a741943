-- reverse: modify "rollups" table
ALTER TABLE "rollups" DROP COLUMN "max_actual_goal", DROP COLUMN "min_actual_goal";
