-- reverse: modify "rollups" table
ALTER TABLE "rollups" DROP COLUMN "max_goal_time", DROP COLUMN "min_goal_time", DROP COLUMN "max_actual_time", DROP COLUMN "min_actual_time", DROP COLUMN "last_goal", DROP COLUMN "last_actual", DROP COLUMN "first_goal", DROP COLUMN "first_actual";
