-- create "chart_data" table
CREATE TABLE `chart_data` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `time` integer NOT NULL, `actual` real NOT NULL, `goal` real NOT NULL, `factory_id` integer NOT NULL, CONSTRAINT `chart_data_factories_points` FOREIGN KEY (`factory_id`) REFERENCES `factories` (`id`) ON DELETE CASCADE);
-- create index "chartdata_factory_id_time" to table: "chart_data"
CREATE UNIQUE INDEX `chartdata_factory_id_time` ON `chart_data` (`factory_id`, `time`);
-- create "factories" table
CREATE TABLE `factories` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL);
-- create "sprockets" table
CREATE TABLE `sprockets` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `teeth` integer NOT NULL, `pitch_diameter` real NOT NULL, `outside_diameter` real NOT NULL, `pitch` real NOT NULL);
