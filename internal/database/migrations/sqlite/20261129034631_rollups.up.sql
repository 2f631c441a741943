-- create "rollups" table
CREATE TABLE `rollups` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `factory_id` integer NOT NULL, `width` integer NOT NULL, `bucket` integer NOT NULL, `n` integer NOT NULL, `sum_actual` real NOT NULL, `sum_goal` real NOT NULL, `min_actual` real NOT NULL, `max_actual` real NOT NULL, `min_goal` real NOT NULL, `max_goal` real NOT NULL, `min_time` integer NOT NULL, `max_time` integer NOT NULL);
-- create index "rollup_factory_id_width_bucket" to table: "rollups"
CREATE UNIQUE INDEX `rollup_factory_id_width_bucket` ON `rollups` (`factory_id`, `width`, `bucket`);
