-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_rollups" table
CREATE TABLE `new_rollups` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `factory_id` integer NOT NULL, `width` integer NOT NULL, `bucket` integer NOT NULL, `n` integer NOT NULL, `sum_actual` real NOT NULL, `sum_goal` real NOT NULL, `min_actual` real NOT NULL, `max_actual` real NOT NULL, `min_goal` real NOT NULL, `max_goal` real NOT NULL, `min_time` integer NOT NULL, `max_time` integer NOT NULL, `first_actual` real NOT NULL DEFAULT (0), `first_goal` real NOT NULL DEFAULT (0), `last_actual` real NOT NULL DEFAULT (0), `last_goal` real NOT NULL DEFAULT (0), `min_actual_time` integer NOT NULL DEFAULT (0), `max_actual_time` integer NOT NULL DEFAULT (0), `min_goal_time` integer NOT NULL DEFAULT (0), `max_goal_time` integer NOT NULL DEFAULT (0), `min_actual_goal` real NOT NULL DEFAULT (0), `max_actual_goal` real NOT NULL DEFAULT (0));
-- copy rows from old table "rollups" to new temporary table "new_rollups"
INSERT INTO `new_rollups` (`id`, `factory_id`, `width`, `bucket`, `n`, `sum_actual`, `sum_goal`, `min_actual`, `max_actual`, `min_goal`, `max_goal`, `min_time`, `max_time`, `first_actual`, `first_goal`, `last_actual`, `last_goal`, `min_actual_time`, `max_actual_time`, `min_goal_time`, `max_goal_time`) SELECT `id`, `factory_id`, `width`, `bucket`, `n`, `sum_actual`, `sum_goal`, `min_actual`, `max_actual`, `min_goal`, `max_goal`, `min_time`, `max_time`, `first_actual`, `first_goal`, `last_actual`, `last_goal`, `min_actual_time`, `max_actual_time`, `min_goal_time`, `max_goal_time` FROM `rollups`;
-- drop "rollups" table after copying rows
DROP TABLE `rollups`;
-- rename temporary table "new_rollups" to "rollups"
ALTER TABLE `new_rollups` RENAME TO `rollups`;
-- create index "rollup_factory_id_width_bucket" to table: "rollups"
CREATE UNIQUE INDEX `rollup_factory_id_width_bucket` ON `rollups` (`factory_id`, `width`, `bucket`);
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
